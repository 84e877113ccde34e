#include "ctl/output.h"

#include <cstdio>

#include <google/protobuf/util/json_util.h>

namespace sluice::ctl {

std::string to_json(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opts);
  return out;
}

void print_json(const google::protobuf::Message& m) { std::printf("%s\n", to_json(m).c_str()); }

}  // namespace sluice::ctl
