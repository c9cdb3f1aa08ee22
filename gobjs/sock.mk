## gobjs/sock.mk: GSock and GServerSock (fragment of the top Makefile.am).
