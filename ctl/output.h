// vsctl output: a response as JSON (--format json: the message with its proto field names,
// every field present, one object per line) or the text the command prints for people.
#pragma once

#include <string>

#include <google/protobuf/message.h>

namespace sluice::ctl {

std::string to_json(const google::protobuf::Message& m);
void print_json(const google::protobuf::Message& m);

}  // namespace sluice::ctl
