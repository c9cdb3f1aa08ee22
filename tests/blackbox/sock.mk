## tests/blackbox/sock.mk: black-box tests of the echo server (fragment of the top Makefile.am).
## Each script starts samples/gserve running the Echo sample on a port the
## kernel chose (or a unix socket in its own temporary directory) and drives
## it with real clients on loopback: tests/blackbox/echo_client.py, which
## needs python3 (the scripts skip, status 77, without it).
ECHO_BLACKBOX_TESTS = \
	tests/blackbox/echo_basic.sh \
	tests/blackbox/echo_ends.sh \
	tests/blackbox/echo_addr.sh \
	tests/blackbox/echo_unix.sh \
	tests/blackbox/echo_limits.sh \
	tests/blackbox/echo_stress.sh
TESTS += $(ECHO_BLACKBOX_TESTS)
dist_check_SCRIPTS += $(ECHO_BLACKBOX_TESTS)
EXTRA_DIST += tests/blackbox/echo_lib.sh tests/blackbox/echo_client.py

## TLS: gserve with certificates made at run time, openssl s_client as the
## client (skips, status 77, without the openssl command).
TESTS += tests/blackbox/echo_tls.sh
dist_check_SCRIPTS += tests/blackbox/echo_tls.sh

## The chat sample (samples/chat.json) and the length-framed echo
## (samples/echo-length.json), driven by tests/blackbox/chat_client.py.
TESTS += tests/blackbox/chat.sh
dist_check_SCRIPTS += tests/blackbox/chat.sh
EXTRA_DIST += tests/blackbox/chat_client.py

## The TCP proxy sample (samples/tcp-proxy.json) in front of gserve's echo,
## python3 -m http.server and hostile upstreams (tests/blackbox/proxy_client.py).
TESTS += tests/blackbox/tcp_proxy.sh
dist_check_SCRIPTS += tests/blackbox/tcp_proxy.sh
EXTRA_DIST += tests/blackbox/proxy_client.py

## The echo client sample (samples/echo-client.json) against the echo, a
## hostile python3 echo and a port where nothing listens.
TESTS += tests/blackbox/echo_client.sh
dist_check_SCRIPTS += tests/blackbox/echo_client.sh
