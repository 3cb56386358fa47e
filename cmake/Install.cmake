# Installation layout and the Debian package (cpack -G DEB).
#
#   /usr/bin/sealpost, /usr/sbin/sealpostd, /usr/sbin/sealpost-portal  (installed by their folders)
#   /usr/lib/systemd/system/*.service, /usr/lib/sysusers.d, /usr/lib/tmpfiles.d
#   /usr/share/man/man{1,5,8}, /usr/share/doc/sealpost
#   /etc/sealpost/sealpost.yaml, /etc/sealpost/policy.yaml            (dpkg conffiles)
#   /etc/sealpost/spool.key, /etc/sealpost/users.yaml                 (made by postinst if missing)
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
# live in separate files, 0640 root:sealpost), and the portal's user, which is
# not in group "sealpost", reads it too.
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
# postinst: create the users and directories, the spool key and an empty
# staff list; both systemd tools are optional so the package also unpacks in
# a chroot or container without systemd. DPKG_ROOT is set when dpkg installs
# into another root without chroot (--root with --force-script-chrootless);
# then only that root is touched (ids are looked up in its /etc/group).
# No TLS certificate is made up: see docs/admin-guide.md, "First start".
file(WRITE ${pkg_dir}/postinst [=[#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
  if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers ${DPKG_ROOT:+--root="$DPKG_ROOT"} sealpost.conf
  fi
  if command -v systemd-tmpfiles >/dev/null 2>&1; then
    systemd-tmpfiles ${DPKG_ROOT:+--root="$DPKG_ROOT"} --create sealpost.conf
  fi
  etc="$DPKG_ROOT/etc/sealpost"
  mkdir -p "$etc"
  relay_gid=$(awk -F: '$1 == "sealpost" { print $3 }' "$DPKG_ROOT/etc/group" 2>/dev/null || true)
  # The spool encryption key: root-only, outside the state directory, handed to
  # sealpostd by systemd (LoadCredential=spool-key:/etc/sealpost/spool.key).
  # Written to a temp file in /etc/sealpost, flushed to disk (sync FILE), and
  # only then renamed: a crash never leaves an empty or partial key under the
  # real name (/var/lib may be another file system, where mv would copy).
  if [ ! -e "$etc/spool.key" ]; then
    old="$DPKG_ROOT/var/lib/sealpost/spool.key"
    tmp="$etc/spool.key.tmp.$$"
    rm -f "$tmp"
    if [ -f "$old" ]; then
      # Made by sealpostd in the state directory before: moved out (queued mail
      # it sealed stays readable; backups of the state no longer hold it).
      (umask 077; cat "$old" > "$tmp")
    else
      (umask 077; head -c 32 /dev/urandom | od -An -tx1 -v | tr -d ' \n' > "$tmp"; echo >> "$tmp")
    fi
    if [ "$(id -u)" = 0 ]; then chown 0:0 "$tmp"; fi
    chmod 600 "$tmp"
    sync "$tmp"
    mv "$tmp" "$etc/spool.key"
    sync "$etc"
    if [ -f "$old" ]; then rm -f "$old"; fi
  fi
  # The portal reads pickup/ and writes portal-audit/ through group
  # sealpost-pickup; tmpfiles sets it on the directories only, so files left
  # by an earlier version (group sealpost) are handed over too. -h: a symlink
  # is changed itself, never what it points to.
  state="$DPKG_ROOT/var/lib/sealpost"
  pickup_gid=$(awk -F: '$1 == "sealpost-pickup" { print $3 }' "$DPKG_ROOT/etc/group" 2>/dev/null || true)
  if [ -n "$pickup_gid" ] && [ "$(id -u)" = 0 ]; then
    for d in "$state/pickup" "$state/portal-audit"; do
      if [ -d "$d" ] && [ ! -L "$d" ]; then chgrp -R -h -P "$pickup_gid" "$d"; fi
    done
  fi
  # An empty staff list, readable by sealpostd; 'sealpost user add' fills it.
  if [ ! -e "$etc/users.yaml" ]; then
    (umask 027; printf '%s\n' "# Sealpost staff accounts; manage with 'sealpost user add|passwd'." \
      "users: []" > "$etc/users.yaml")
    if [ -n "$relay_gid" ] && [ "$(id -u)" = 0 ]; then chown "0:$relay_gid" "$etc/users.yaml"; fi
  fi
  # The portal user was a member of group "sealpost" (which reads the relay's
  # secrets) in development builds; it shares only sealpost-pickup now.
  if [ -z "$DPKG_ROOT" ] && id -nG sealpost-portal 2>/dev/null | tr ' ' '\n' | grep -qx sealpost; then
    gpasswd -d sealpost-portal sealpost >/dev/null 2>&1 || true
  fi
  if [ ! -e "$etc/tls/fullchain.pem" ] || [ ! -e "$etc/smarthost.pass" ]; then
    cat <<'MSG'
Sealpost is installed, not yet configured. Before 'systemctl enable --now sealpostd'
(docs: /usr/share/doc/sealpost/admin-guide.md, "First start"):
  1. a TLS certificate for the submission ports: /etc/sealpost/tls/fullchain.pem
     and key.pem (mode 0640, group sealpost)
  2. the provider in /etc/sealpost/sealpost.yaml (smarthost:) and its password in
     /etc/sealpost/smarthost.pass (mode 0640, group sealpost)
  3. staff accounts: sealpost user add NAME --address NAME@praxis.example
  4. sealpost check-config
MSG
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
