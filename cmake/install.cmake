# Install rules and the Debian packages (issue 26). Included at the end of the top-level
# CMakeLists.txt; it names the targets (achilles, achilles-agent) and the files by path, so the
# layout of the sources can change around it.
#
# Two components, one per Debian package (./scripts/package builds them with CPack):
#   cli    -> achilles:       /usr/bin/achilles, its man page and bash completion, the sample
#                             topologies (share/achilles/topologies), the docs (share/doc/achilles)
#   agent  -> achilles-agent: /usr/bin/achilles-agent, its man page and bash completion, the
#                             systemd unit (/lib/systemd/system, installed disabled), the example
#                             /etc/achilles/agent.yaml (a conffile), docs/agent.md
# `cmake --install build --prefix /usr` installs both; --component cli or agent one of them.
include(GNUInstallDirs)

# Debian 12 keeps system units in /lib/systemd/system (not under the prefix).
set(ACHILLES_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH "Where the agent's systemd unit goes")

install(TARGETS achilles RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
install(TARGETS achilles-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT agent)

# Man pages: help2man (Debian package help2man) runs each built binary's --help and --version,
# so that the page says what the program does; packaging/man/make-man.sh also adds every
# command's --help to achilles(1). Without help2man the build goes on without man pages.
find_program(ACHILLES_HELP2MAN help2man)
if(ACHILLES_HELP2MAN)
  set(ACHILLES_MAN_DIR ${CMAKE_BINARY_DIR}/man)
  set(ACHILLES_MAN_PAGES)
  foreach(spec IN ITEMS
      "achilles|cli|find the single points of failure in an infrastructure and prove failover"
      "achilles-agent|agent|fault-injection agent: bounded faults on this host through an HTTP API")
    string(REPLACE "|" ";" spec "${spec}")
    list(GET spec 0 binary)
    list(GET spec 1 component)
    list(GET spec 2 description)
    add_custom_command(OUTPUT ${ACHILLES_MAN_DIR}/${binary}.1.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${ACHILLES_MAN_DIR}
      COMMAND ${PROJECT_SOURCE_DIR}/packaging/man/make-man.sh $<TARGET_FILE:${binary}>
              ${PROJECT_VERSION} ${description} ${ACHILLES_MAN_DIR}/${binary}.1.gz
      DEPENDS ${binary} ${PROJECT_SOURCE_DIR}/packaging/man/make-man.sh
      COMMENT "Generating the man page ${binary}(1) with help2man"
      VERBATIM)
    install(FILES ${ACHILLES_MAN_DIR}/${binary}.1.gz
      DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT ${component})
    list(APPEND ACHILLES_MAN_PAGES ${ACHILLES_MAN_DIR}/${binary}.1.gz)
  endforeach()
  add_custom_target(man-pages ALL DEPENDS ${ACHILLES_MAN_PAGES})
else()
  message(STATUS "help2man not found (Debian package help2man): no man pages are built or installed")
endif()

# Bash completion, loaded on demand by the bash-completion package.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/bash-completion/achilles
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT cli)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/bash-completion/achilles-agent
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT agent)

# Samples and docs.
file(GLOB ACHILLES_SAMPLES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/topologies/*.yaml)
install(FILES ${ACHILLES_SAMPLES}
  DESTINATION ${CMAKE_INSTALL_DATADIR}/achilles/topologies COMPONENT cli)
file(GLOB ACHILLES_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${ACHILLES_DOCS}
  DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT cli)
install(FILES ${PROJECT_SOURCE_DIR}/docs/agent.md
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/achilles-agent COMPONENT agent)

# The agent's unit, with ExecStart naming the installed binary (the file in the repository
# names /usr/local/bin, for a hand install), and the example configuration.
file(READ ${PROJECT_SOURCE_DIR}/injector/deploy/achilles-agent.service ACHILLES_UNIT)
string(REPLACE "/usr/local/bin/achilles-agent" "${CMAKE_INSTALL_FULL_BINDIR}/achilles-agent"
  ACHILLES_UNIT "${ACHILLES_UNIT}")
file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/packaging/achilles-agent.service
  CONTENT "${ACHILLES_UNIT}" @ONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/injector/deploy/achilles-agent.service)
install(FILES ${CMAKE_BINARY_DIR}/packaging/achilles-agent.service
  DESTINATION ${ACHILLES_SYSTEMD_UNIT_DIR} COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/injector/deploy/agent.yaml
  DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/achilles COMPONENT agent)

# Debian's copyright and changelog (gzip -9n, as policy wants) in each package's doc directory,
# and lintian overrides, each with its reason in the file.
set(ACHILLES_CHANGELOG ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
add_custom_command(OUTPUT ${ACHILLES_CHANGELOG}
  COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/packaging/debian/changelog > ${ACHILLES_CHANGELOG}
  DEPENDS ${PROJECT_SOURCE_DIR}/packaging/debian/changelog
  VERBATIM)
add_custom_target(debian-changelog ALL DEPENDS ${ACHILLES_CHANGELOG})
foreach(pair IN ITEMS "cli|achilles" "agent|achilles-agent")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 component)
  list(GET pair 1 package)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/copyright ${ACHILLES_CHANGELOG}
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package} COMPONENT ${component})
  if(EXISTS ${PROJECT_SOURCE_DIR}/packaging/debian/lintian/${package})
    install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/lintian/${package}
      DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides COMPONENT ${component})
  endif()
endforeach()

# CPack: the two .debs (./scripts/package runs `cpack -G DEB`). CPack indents the lines of a
# description after the first (the extended description) itself.
set(CPACK_PACKAGE_NAME achilles)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The Achilles authors")
set(CPACK_PACKAGE_CONTACT "Achilles maintainers <maintainers@users.noreply.r-seed-b16e3fca.example>")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://github.com/achilles/achilles")
set(CPACK_GENERATOR DEB)
set(CPACK_COMPONENTS_ALL cli agent)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SOURCE achilles)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_CLI_PACKAGE_NAME achilles)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_CLI_DESCRIPTION "find single points of failure and prove failover
Achilles reads a topology of services, components and failure domains and
finds what takes an entrypoint down: single points of failure, domain
failures, small cut sets, dependency cycles and capacity risks, with
availabilities. It renders the graph, writes a planning-review report,
gates releases in CI, imports Kubernetes, Compose, Terraform and DOT, and
runs game-day drills against achilles-agent.")
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME achilles-agent)
set(CPACK_DEBIAN_AGENT_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS adduser)
# tc (iproute2) sets the tbf qdisc of a bandwidth fault; libnftables comes through shlibdeps.
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS iproute2)
set(CPACK_DEBIAN_AGENT_DESCRIPTION "fault-injection agent for Achilles game-day drills
The agent injects bounded faults on its host (kill, pause, latency, CPU and
memory load, TCP proxy toxics, network faults through nftables and tc)
through an authenticated HTTP API, reverts every fault when its time runs
out, on SIGTERM or after a crash, and keeps an audit log. The package
installs a systemd unit that is not enabled, an example configuration and
a random bearer token.")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/agent/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/debian/agent/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/agent/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/agent/postrm)
include(CPack)
