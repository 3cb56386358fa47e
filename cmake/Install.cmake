# Installation layout and packaging live in one place (issue 7 extends it).
include(GNUInstallDirs)
