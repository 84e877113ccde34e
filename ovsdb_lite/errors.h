// Error-message helpers shared by the transaction code (private).
#pragma once

#include <string>

#include "datapath/status.h"

namespace sluice::ovsdb {

// Prefixes a status message, keeping its code ("column tag: " + "expected integer, got string").
inline Status with_prefix(const Status& st, const std::string& prefix) {
  return st.is_ok() ? st : Status(st.code(), prefix + st.message());
}

}  // namespace sluice::ovsdb
