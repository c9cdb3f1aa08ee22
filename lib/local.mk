## The runtime core.
libginsfsm_la_SOURCES += \
	lib/internal.h \
	lib/error.c \
	lib/gclass.c \
	lib/fsm.c \
	lib/gobj.c \
	lib/attrs.c \
	lib/pubsub.c \
	lib/post.c \
	lib/trace.c \
	lib/dot.c \
	lib/log.c
