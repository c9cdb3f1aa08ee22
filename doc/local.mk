## doc: the gserve manual and man page, and the gclass diagrams.
dist_man_MANS += doc/gserve.1 doc/gctl.1
EXTRA_DIST += doc/gserve.md doc/control.md doc/manual.md doc/manual-runtime.md doc/manual-servers.md \
	doc/manual-example.md doc/api.md doc/performance.md \
	doc/gclasses/GTimer.md doc/gclasses/GTimer.dot doc/gclasses/GTimer.svg \
	doc/gclasses/Ticker.md doc/gclasses/Ticker.dot doc/gclasses/Ticker.svg \
	doc/gclasses/Echo.md doc/gclasses/Echo.dot doc/gclasses/Echo.svg \
	doc/gclasses/ChatRoom.md doc/gclasses/ChatRoom.dot doc/gclasses/ChatRoom.svg \
	doc/gclasses/ChatSession.md doc/gclasses/ChatSession.dot doc/gclasses/ChatSession.svg \
	doc/gclasses/TcpProxy.md doc/gclasses/TcpProxy.dot doc/gclasses/TcpProxy.svg \
	doc/gclasses/ProxySession.md doc/gclasses/ProxySession.dot doc/gclasses/ProxySession.svg \
	doc/gclasses/EchoClient.md doc/gclasses/EchoClient.dot doc/gclasses/EchoClient.svg

## make doc: for every gclass card doc/gclasses/NAME.md, the state machine of
## NAME as Graphviz DOT, doc/gclasses/NAME.dot (always), and rendered as
## doc/gclasses/NAME.svg when Graphviz is installed.  The files are written in
## the build tree (the source tree for an in-tree build), next to the cards.
## A card whose gclass gserve does not know fails the target.
doc: samples/gserve$(EXEEXT)
	@$(MKDIR_P) doc/gclasses
	@set -e; for card in $(srcdir)/doc/gclasses/*.md; do \
	  test -f "$$card" || continue; \
	  name=`basename "$$card" .md`; \
	  echo "  DOT      doc/gclasses/$$name.dot"; \
	  samples/gserve$(EXEEXT) --dot "$$name" >doc/gclasses/$$name.dot.tmp; \
	  mv doc/gclasses/$$name.dot.tmp doc/gclasses/$$name.dot; \
	  if test "$(DOT)" != no; then \
	    echo "  SVG      doc/gclasses/$$name.svg"; \
	    $(DOT) -Tsvg doc/gclasses/$$name.dot -o doc/gclasses/$$name.svg; \
	  fi; \
	done
.PHONY: doc
