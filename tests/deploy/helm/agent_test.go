// The real agent accepts the configuration the chart renders: for every values set of
// chart_test.go, the ConfigMap's agent.yaml is given to the built achilles-agent (the path in
// ACHILLES_AGENT, set by run.sh), with flags (which win over the file) pointing the files the
// DaemonSet would mount at temporary ones: a token, and a CA, certificate and key made here. It
// must say that it listens; it is then stopped with SIGTERM, and must exit 0. Without
// ACHILLES_AGENT the test is skipped.
package helmcheck

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeTLS writes a CA (ca.crt), and a certificate (tls.crt) and key (tls.key, mode 0600) for
// 127.0.0.1 that the CA signed, into dir.
func writeTLS(t *testing.T, dir string) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "agent"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, kind string, der []byte, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.crt", "CERTIFICATE", caDER, 0o644)
	write("tls.crt", "CERTIFICATE", leafDER, 0o644)
	write("tls.key", "PRIVATE KEY", keyDER, 0o600)
}

// runAgent runs the agent on config with the test's files. It returns true when the agent said
// it listens and, stopped with SIGTERM, exited 0; else false, with what the agent said.
func runAgent(t *testing.T, agent, config string) (string, bool) {
	dir := t.TempDir()
	writeTLS(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "agent.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(agent, "--config", filepath.Join(dir, "agent.yaml"), "--listen", "127.0.0.1:0",
		"--token-file", filepath.Join(dir, "token"), "--tls-cert", filepath.Join(dir, "tls.crt"),
		"--tls-key", filepath.Join(dir, "tls.key"), "--tls-client-ca", filepath.Join(dir, "ca.crt"),
		"--state-file", filepath.Join(dir, "state.json"), "--audit-log", filepath.Join(dir, "audit.jsonl"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "achilles-agent listening on 127.0.0.1:") {
				listening <- true
				return
			}
		}
		listening <- false
	}()
	ok := false
	select {
	case ok = <-listening:
	case <-time.After(30 * time.Second):
	}
	if ok {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	} else {
		_ = cmd.Process.Kill()
	}
	err = cmd.Wait()
	if ok && err != nil {
		return "the agent exited after SIGTERM with " + err.Error() + ": " + stderr.String(), false
	}
	return stderr.String(), ok
}

func TestTheAgentAcceptsEveryConfigurationTheChartRenders(t *testing.T) {
	agent := os.Getenv("ACHILLES_AGENT")
	if agent == "" {
		t.Skip("ACHILLES_AGENT (the built achilles-agent) is not set")
	}
	sets := map[string]string{"daemonset.yaml's values": asDaemonset}
	for k, v := range valueSets {
		sets[k] = v
	}
	for name, values := range sets {
		docs, _, err := render(chartDir, values)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		config := at(docs["ConfigMap"], "data", "agent.yaml").(string)
		if msg, ok := runAgent(t, agent, config); !ok {
			t.Errorf("%s: the agent did not start with the chart's agent.yaml:\n%s\n%s", name, config, msg)
		}
	}
	// And the check can fail: a user the host does not have is refused by the agent, which the
	// schema cannot know.
	docs, _, err := render(chartDir, "token: {existingSecret: t}\nconfig: {allow: {users: [achilles-no-such-user]}}")
	if err != nil {
		t.Fatal(err)
	}
	msg, ok := runAgent(t, agent, at(docs["ConfigMap"], "data", "agent.yaml").(string))
	if ok || !strings.Contains(msg, "achilles-no-such-user") {
		t.Errorf("an agent.yaml with an unknown user: started %v, said %q", ok, msg)
	}
}
