/* live.c - live-object counters (see loom/debug.h). */
#include "internal.h"

_Atomic long loom__live[LOOM_LIVE__COUNT];

static const char *const live_names[LOOM_LIVE__COUNT] = {
    [LOOM_LIVE_FUTURES] = "futures",     [LOOM_LIVE_EXECUTORS] = "executors",
    [LOOM_LIVE_THREADS] = "threads",     [LOOM_LIVE_LOOPS] = "loops",
    [LOOM_LIVE_TASKS] = "tasks",         [LOOM_LIVE_STACKS] = "stacks",
    [LOOM_LIVE_PROCESSES] = "processes", [LOOM_LIVE_SYNC] = "sync objects",
    [LOOM_LIVE_OTHER] = "other objects",
};

long loom_live_count(loom_live_kind kind) {
  if ((unsigned)kind >= LOOM_LIVE__COUNT) return 0;
  return atomic_load(&loom__live[kind]);
}

const char *loom_live_name(loom_live_kind kind) {
  if ((unsigned)kind >= LOOM_LIVE__COUNT) return "unknown";
  return live_names[kind];
}
