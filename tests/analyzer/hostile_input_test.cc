
TEST_CASE("A replica count that would make billions of components is a located error",
          "[import][hostile]") {
  // Found by fuzz_import_compose: strtol's LONG_MAX became a loop of 9 * 10^18 containers.
  auto r = run_bounded("import compose bad/compose-replicas.yml");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "bad/compose-replicas.yml:5:17: error: /services/api/deploy/replicas: "
        "66666666666666666666666666666666666666666666666666666666666666666666662 replicas is "
        "more than 100000 (each becomes a component)\n");
  r = run_bounded("import k8s bad/k8s-replicas.yaml");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "bad/k8s-replicas.yaml:5:13: error: Deployment/default/web: /spec/replicas: 3000000000 "
        "replicas is more than 100000 (each becomes a component)\n");
}
