/*
 * blink.c - the small complete example of the manual and the README.
 *
 * A Blinker gobj owns a periodic GTimer.  Each EV_TIMER_TIMEOUT toggles it between
 * ST_OFF and ST_ON; after `max_blinks` toggles it stops the loop.  It shows a
 * gclass as data (states, rows, events, attributes), a child gobj, an event
 * published by the child and received by its parent, and the loop.
 *
 * Build:  cc blink.c $(pkg-config --cflags --libs ginsfsm) -o blink
 */
#include <stdio.h>

#include <ginsfsm.h>
#include <ginsfsm/gobjs.h>
#include <ginsfsm/loop.h>

GOBJ_DEFINE_STATE(ST_OFF);
GOBJ_DEFINE_STATE(ST_ON);

/* Attributes, bound by offsetof to the private struct. */
typedef struct {
    int64_t period;      /* ms between toggles */
    int64_t max_blinks;  /* stop the loop after this many */
    int64_t blinks;      /* statistic */
    gobj_t *timer;
} blinker_t;

static const gobj_attr_t blinker_attrs[] = {
    GOBJ_ATTR("period", GOBJ_ATTR_INT, blinker_t, period, "10", GOBJ_RD, "ms between toggles"),
    GOBJ_ATTR("max_blinks", GOBJ_ATTR_INT, blinker_t, max_blinks, "4", GOBJ_RD,
              "stop the loop after this many toggles"),
    GOBJ_ATTR("blinks", GOBJ_ATTR_INT, blinker_t, blinks, "0", GOBJ_STATS, "toggles so far"),
    GOBJ_ATTR_END,
};

/* Methods. */
static int mt_create(gobj_t *gobj)
{
    blinker_t *priv = gobj_priv(gobj);
    /* The timer publishes EV_TIMER_TIMEOUT to its parent (this gobj) by default. */
    priv->timer = gobj_create("timer", gclass_find(GCLASS_GTIMER_NAME),
                              json_pack("{s:I, s:b}", "msec", (json_int_t)priv->period,
                                        "periodic", 1),
                              gobj);
    return priv->timer ? 0 : -1;
}

/* Actions: the kw is borrowed, the return value goes back to the sender. */
static int ac_toggle(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    blinker_t *priv = gobj_priv(gobj);
    priv->blinks++;
    printf("%s is %s\n", gobj_full_name(gobj),
           gobj_in_this_state(gobj, ST_ON) ? "on" : "off");
    if (priv->blinks >= priv->max_blinks) {
        gobj_stop(priv->timer);
        gobj_loop_stop();
    }
    return 0;
}

/*  ST_OFF --EV_TIMER_TIMEOUT--> ST_ON --EV_TIMER_TIMEOUT--> ST_OFF  */
static const gobj_row_t st_off[] = {
    GOBJ_ROW(EV_TIMER_TIMEOUT, ac_toggle, ST_ON),
    {NULL},
};
static const gobj_row_t st_on[] = {
    GOBJ_ROW(EV_TIMER_TIMEOUT, ac_toggle, ST_OFF),
    {NULL},
};
static const gobj_state_def_t blinker_states[] = {
    GOBJ_STATE(ST_OFF, st_off),
    GOBJ_STATE(ST_ON, st_on),
    {NULL},
};
static const gobj_event_def_t blinker_events[] = {
    {EV_TIMER_TIMEOUT, GOBJ_EV_IN, "{} from the child GTimer"},
    {NULL},
};
static const gclass_def_t blinker_gclass = {
    .name = "Blinker",
    .description = "toggles on every timeout of its child timer",
    .states = blinker_states,
    .events = blinker_events,
    .attrs = blinker_attrs,
    .methods = {.mt_create = mt_create},
    .priv_size = sizeof(blinker_t),
};

int main(void)
{
    if (gobj_register_builtin_gclasses() < 0 || !gclass_register(&blinker_gclass))
        return 1;
    gobj_loop_init();
    gobj_t *blinker = gobj_create("blinker", gclass_find("Blinker"),
                                  json_pack("{s:i}", "max_blinks", 4), NULL);
    if (!blinker || gobj_start_tree(blinker) < 0)
        return 1;
    gobj_loop_run();

    json_t *stats = gobj_stats(blinker);
    int64_t blinks = json_integer_value(json_object_get(stats, "blinks"));
    json_decref(stats);
    printf("blinked %lld times\n", (long long)blinks);

    gobj_destroy(blinker);
    gobj_loop_free();
    gclass_unregister_all();
    return blinks == 4 && gobj_live_count() == 0 ? 0 : 1;
}
