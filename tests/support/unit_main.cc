// gtest main for unit tests: brings up a hugepage-free, file-free EAL so that DPDK
// libraries (rte_hash, rte_ring, mempools) work without root.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <unistd.h>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  std::string prefix = "--file-prefix=sluice_ut" + std::to_string(getpid());
  std::vector<const char*> eal = {"unit_tests", "--no-huge", "-m", "1024", "--no-pci", "--no-shconf",
                                  "-l", "0", "--log-level=error", prefix.c_str()};
  if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char**>(eal.data())) < 0) {
    fprintf(stderr, "unit_main: rte_eal_init failed\n");
    return 2;
  }
  int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}
