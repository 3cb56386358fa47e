# Installation layout and the Debian package (cpack -G DEB).
#
#   /usr/bin/sealpost, /usr/sbin/sealpostd, /usr/sbin/sealpost-portal  (installed by their folders)
#   /usr/lib/systemd/system/*.service, /usr/lib/sysusers.d, /usr/lib/tmpfiles.d
#   /usr/share/man/man{1,5,8}, /usr/share/doc/sealpost
#   /etc/sealpost/sealpost.yaml, /etc/sealpost/policy.yaml            (dpkg conffiles)
include(GNUInstallDirs)

set(SEALPOST_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING "systemd units, relative to the prefix")
set(SEALPOST_CONF_DIR "/etc/sealpost" CACHE PATH "where the example configuration goes")

install(FILES systemd/sealpostd.service systemd/sealpost-portal.service
        DESTINATION ${SEALPOST_SYSTEMD_UNIT_DIR})
install(FILES systemd/sysusers.d/sealpost.conf DESTINATION lib/sysusers.d)
install(FILES systemd/tmpfiles.d/sealpost.conf DESTINATION lib/tmpfiles.d)

# Every man page in man/, into the section its suffix names.
foreach(section 1 5 8)
  file(GLOB pages ${PROJECT_SOURCE_DIR}/man/*.${section})
  if(pages)
    install(FILES ${pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endif()
endforeach()

file(GLOB sealpost_docs ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${sealpost_docs} README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The example configuration; dpkg keeps an admin's edits on upgrade (conffiles).
# World-readable on purpose: it holds paths, not secrets (passwords and TLS keys
# live in separate files, 0640 root:sealpost), and sealpostd runs as "sealpost".
set(SEALPOST_CONFFILES ${SEALPOST_CONF_DIR}/sealpost.yaml ${SEALPOST_CONF_DIR}/policy.yaml)
install(FILES conf/sealpost.yaml conf/policy.yaml DESTINATION ${SEALPOST_CONF_DIR}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# The pickup notice texts (portal.templates), also admin-editable conffiles.
file(GLOB notice_templates RELATIVE ${PROJECT_SOURCE_DIR}/conf/templates
     ${PROJECT_SOURCE_DIR}/conf/templates/*.txt)
foreach(t ${notice_templates})
  list(APPEND SEALPOST_CONFFILES ${SEALPOST_CONF_DIR}/templates/${t})
  install(FILES conf/templates/${t} DESTINATION ${SEALPOST_CONF_DIR}/templates
          PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endforeach()

# --- Debian package --------------------------------------------------------
set(pkg_dir ${PROJECT_BINARY_DIR}/debian-control)
string(REPLACE ";" "\n" conffiles_text "${SEALPOST_CONFFILES}")
file(WRITE ${pkg_dir}/conffiles "${conffiles_text}\n")
# postinst: create the users and directories; both tools are optional so the
# package also unpacks in a chroot or container without systemd.
# DPKG_ROOT is set when dpkg installs into another root without chroot
# (--root with --force-script-chrootless); then only that root is touched.
file(WRITE ${pkg_dir}/postinst [=[#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
  if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers ${DPKG_ROOT:+--root="$DPKG_ROOT"} sealpost.conf
  fi
  if command -v systemd-tmpfiles >/dev/null 2>&1; then
    systemd-tmpfiles ${DPKG_ROOT:+--root="$DPKG_ROOT"} --create sealpost.conf
  fi
  if [ -z "$DPKG_ROOT" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
  fi
fi
exit 0
]=])
file(WRITE ${pkg_dir}/prerm [=[#!/bin/sh
set -e
if [ "$1" = "remove" ] && [ -z "$DPKG_ROOT" ] && [ -d /run/systemd/system ]; then
  systemctl stop sealpostd.service sealpost-portal.service >/dev/null 2>&1 || true
fi
exit 0
]=])
file(CHMOD ${pkg_dir}/postinst ${pkg_dir}/prerm
     PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "sealpost")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Sealpost maintainers <sealpost@praxis.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Secure mail relay for medical practices")
set(CPACK_PACKAGE_DESCRIPTION
    "Encrypts outgoing practice mail per recipient (OpenPGP, S/MIME or a pickup link), strips tracking metadata and delivers through the practice's smarthost.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "mail")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | systemd-standalone-sysusers")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${pkg_dir}/conffiles;${pkg_dir}/postinst;${pkg_dir}/prerm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# Only the programs, units, pages and config: no test or fuzz binaries.
set(CPACK_STRIP_FILES TRUE)
include(CPack)
