## tests/blackbox/sock.mk: black-box tests of the echo server (fragment of the top Makefile.am).
