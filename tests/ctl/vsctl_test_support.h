// One vswitchd per test suite (starting one takes seconds); tests use their own names for
// bridges, ports and cookies so they do not see each other's state.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/ctl/switch_process.h"

namespace sluice::test {

class VsctlTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    sw_ = std::make_unique<SwitchProcess>();
    if (!sw_->start()) {
      std::string log = sw_->log();
      sw_.reset();
      FAIL() << "vswitchd did not start:\n" << log;
    }
  }
  static void TearDownTestSuite() {
    if (sw_) {
      EXPECT_EQ(sw_->stop(), 0) << sw_->log();
    }
    sw_.reset();
  }
  void SetUp() override { ASSERT_TRUE(sw_) << "vswitchd is not running"; }

  static CommandResult vsctl(const std::vector<std::string>& args, const std::string& input = "") {
    return sw_->vsctl(args, input);
  }
  // Runs a command that must succeed; returns stdout.
  static std::string ok(const std::vector<std::string>& args) {
    CommandResult r = vsctl(args);
    EXPECT_EQ(r.rc, 0) << args.front() << ": " << r.err;
    return r.out;
  }
  static nlohmann::json json(std::vector<std::string> args) {
    args.insert(args.begin(), {"--format", "json"});
    CommandResult r = vsctl(args);
    EXPECT_EQ(r.rc, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  static std::unique_ptr<SwitchProcess> sw_;
};

inline std::unique_ptr<SwitchProcess> VsctlTest::sw_;

}  // namespace sluice::test
