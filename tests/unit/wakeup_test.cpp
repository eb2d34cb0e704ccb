// Wake-ups between processes are file events; here two objects in one process
// stand in for the notifier and the idle worker.
#include <gtest/gtest.h>

#include "orchestrator/wakeup.h"

using namespace atelier;

TEST(Wakeup, ANotificationBeforeTheWaitIsNotLost) {
  auto f = std::filesystem::temp_directory_path() / ("wake-" + std::to_string(::getpid()));
  WakeWaiter waiter(f);
  WakeSignal signal(f);
  waiter.drain();
  EXPECT_FALSE(waiter.wait(0));  // nothing pending
  signal.notify();               // lands between an empty claim and the wait
  EXPECT_TRUE(waiter.wait(10'000));
  EXPECT_FALSE(waiter.wait(0));  // consumed
  std::filesystem::remove(f);
}
