/* loom.h - the whole public API of loom, a concurrency runtime for C.
 * Include this, or the area headers under loom/ one by one. */
#ifndef LOOM_H
#define LOOM_H

#include "loom/error.h"
#include "loom/time.h"
#include "loom/debug.h"
#include "loom/future.h"
#include "loom/executor.h"
#include "loom/thread_pool.h"
#include "loom/net.h"
#include "loom/loop.h"
#include "loom/thread.h"
#include "loom/sync.h"
#include "loom/queue.h"
#include "loom/task.h"
#include "loom/combinators.h"
#include "loom/run.h"
#include "loom/process.h"
#include "loom/subprocess.h"
#include "loom/signal.h"

#endif
