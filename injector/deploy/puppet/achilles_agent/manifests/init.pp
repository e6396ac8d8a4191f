# @summary Installs the Achilles fault-injection agent: its binary (from a package or a file),
#   its bearer token, its configuration (/etc/achilles/agent.yaml) and its systemd unit, and
#   runs it. See docs/agent.md, "Puppet".
#
# Nothing here enables fault injection by itself: the agent may signal only what `config`'s
# `allow` names, and that is empty unless you give it.
#
# @param install_method
#   'package': the achilles-agent Debian package (./scripts/package builds it; your repository
#   serves it). 'binary': the file `binary_source` copied to `binary_path`.
# @param package_name
#   The package, for install_method 'package'.
# @param package_ensure
#   Its ensure: 'installed', 'latest' or a version.
# @param binary_source
#   For install_method 'binary': where the binary comes from (a `source` of a file resource:
#   puppet:///modules/..., file:///..., or an absolute path on the node).
# @param binary_path
#   Where the binary is (package: /usr/bin/achilles-agent) or goes (binary:
#   /usr/local/bin/achilles-agent). The unit's ExecStart names it.
# @param token
#   The bearer token (16 bytes or more; the agent refuses a shorter one), as Sensitive or a
#   string, e.g. from Hiera with eyaml. Give this or token_source, not both.
# @param token_source
#   A `source` for the token file instead (puppet:///..., an absolute path on the node).
# @param config
#   The agent's configuration as a hash (the keys of docs/agent.md's table), written to
#   CONFIG_DIR/agent.yaml. The module sets token_file, state_file and audit_log from its own
#   parameters; a config that sets them is refused.
# @param config_dir
#   The configuration directory: agent.yaml and the token file ('token') are in it.
# @param state_dir
#   The state file's directory (made with mode 0700, owned by `user`).
# @param log_dir
#   The audit log's directory (made with mode 0700, owned by `user`).
# @param audit_log
#   The audit log file, or '-' for stderr (the journal). Default: LOG_DIR/audit.jsonl.
# @param unit_dir
#   Where the systemd unit achilles-agent.service goes.
# @param user
#   The user the agent runs as and who owns the token (mode 0600): the unit's User=.
# @param group
#   Its group; it may read the configuration.
# @param manage_user
#   Create `user` and `group` as system accounts.
# @param manage_service
#   Manage the achilles-agent service (ensure, enable; restarted when the configuration,
#   the token, the unit or the binary change). False: only install the files.
# @param service_ensure
#   'running' or 'stopped'.
# @param service_enable
#   Start at boot.
class achilles_agent (
  Enum['package', 'binary'] $install_method = 'package',
  String[1] $package_name = 'achilles-agent',
  String[1] $package_ensure = 'installed',
  Optional[String[1]] $binary_source = undef,
  Optional[Pattern[/\A\//]] $binary_path = undef,
  Optional[Variant[Sensitive[String[1]], String[1]]] $token = undef,
  Optional[String[1]] $token_source = undef,
  Hash[String[1], Data] $config = {
    'listen'          => '127.0.0.1:8474',
    'max_duration_ms' => 900000,
  },
  Pattern[/\A\//] $config_dir = '/etc/achilles',
  Pattern[/\A\//] $state_dir = '/var/lib/achilles',
  Pattern[/\A\//] $log_dir = '/var/log/achilles',
  Optional[Pattern[/\A(\/|-\z)/]] $audit_log = undef,
  Pattern[/\A\//] $unit_dir = '/etc/systemd/system',
  String[1] $user = 'achilles',
  String[1] $group = 'achilles',
  Boolean $manage_user = true,
  Boolean $manage_service = true,
  Enum['running', 'stopped'] $service_ensure = 'running',
  Boolean $service_enable = true,
) {
  if $token =~ Undef and $token_source =~ Undef {
    fail('achilles_agent: the agent needs a bearer token: give token (16 bytes or more, e.g. from `openssl rand -hex 32`) or token_source')
  }
  if $token !~ Undef and $token_source !~ Undef {
    fail('achilles_agent: give token or token_source, not both')
  }
  if $token !~ Undef {
    # The agent strips trailing white space, then refuses fewer than 16 bytes.
    $token_text = $token.unwrap
    if $token_text.rstrip.length < 16 {
      fail("achilles_agent: the token is ${token_text.rstrip.length} bytes long, fewer than 16 (the agent refuses it): make a longer one, e.g. `openssl rand -hex 32`")
    }
  }
  $managed_keys = ['token_file', 'state_file', 'audit_log', 'insecure_loopback'].filter |$k| { $k in $config }
  unless $managed_keys.empty {
    fail("achilles_agent: config sets ${managed_keys.join(', ')}: the module sets token_file, state_file and audit_log (parameters config_dir, state_dir, audit_log), and an agent it installs always needs its token")
  }
  if $install_method == 'binary' and $binary_source =~ Undef {
    fail("achilles_agent: install_method 'binary' needs binary_source")
  }

  $binary = $binary_path ? {
    undef   => $install_method ? { 'package' => '/usr/bin/achilles-agent', default => '/usr/local/bin/achilles-agent' },
    default => $binary_path,
  }
  $audit = $audit_log ? { undef => "${log_dir}/audit.jsonl", default => $audit_log }
  $token_file = "${config_dir}/token"
  $agent_config = $config + {
    'token_file' => $token_file,
    'state_file' => "${state_dir}/state.json",
    'audit_log'  => $audit,
  }

  if $manage_user {
    group { $group:
      ensure => present,
      system => true,
    }
    # The account the package's postinst would make (which then leaves it as it is).
    user { $user:
      ensure     => present,
      system     => true,
      gid        => $group,
      home       => $state_dir,
      managehome => false,
      shell      => '/usr/sbin/nologin',
      comment    => 'Achilles fault-injection agent',
      before     => [File[$token_file], File[$state_dir], File[$log_dir]],
    }
    if $install_method == 'package' {
      User[$user] -> Package[$package_name]
    }
  }

  if $install_method == 'package' {
    # agent.yaml is a conffile of the package that this module rewrites: keep it on upgrades.
    package { $package_name:
      ensure          => $package_ensure,
      install_options => ['-o', 'Dpkg::Options::=--force-confold'],
    }
    $binary_resource = Package[$package_name]
  } else {
    file { $binary:
      ensure => file,
      source => $binary_source,
      owner  => 'root',
      group  => 'root',
      mode   => '0755',
    }
    $binary_resource = File[$binary]
  }

  # Readable by the agent's group (the configuration), never by others.
  file { $config_dir:
    ensure  => directory,
    owner   => 'root',
    group   => $group,
    mode    => '0750',
    require => $binary_resource,
  }
  file { "${config_dir}/agent.yaml":
    ensure  => file,
    owner   => 'root',
    group   => $group,
    mode    => '0640',
    content => "# Written by Puppet (module achilles_agent); see docs/agent.md.\n${achilles_agent::to_yaml($agent_config)}",
    require => $binary_resource,
  }
  # The agent refuses a token that its group or others may read or write.
  file { $token_file:
    ensure    => file,
    owner     => $user,
    group     => $group,
    mode      => '0600',
    content   => $token ? { undef => undef, default => Sensitive($token_text) },
    source    => $token_source,
    show_diff => false,
    require   => $binary_resource,
  }
  file { [$state_dir, $log_dir]:
    ensure => directory,
    owner  => $user,
    group  => $group,
    mode   => '0700',
  }
  file { "${unit_dir}/achilles-agent.service":
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('achilles_agent/achilles-agent.service.epp', {
      'binary_path' => $binary,
      'config_dir'  => $config_dir,
      'state_dir'   => $state_dir,
      'log_dir'     => $log_dir,
      'audit_log'   => $audit,
      'user'        => $user,
      'group'       => $group,
    }),
  }

  if $manage_service {
    # Puppet's systemd provider reloads systemd when the unit file changed.
    service { 'achilles-agent':
      ensure    => $service_ensure,
      enable    => $service_enable,
      provider  => 'systemd',
      subscribe => [
        $binary_resource,
        File["${config_dir}/agent.yaml"],
        File[$token_file],
        File["${unit_dir}/achilles-agent.service"],
      ],
      require   => File[$state_dir, $log_dir],
    }
  }
}
