// FlowModRequest wire bytes → ofp::FlowMods without protobuf messages, for the bulk shape: every
// mod structured, with oxm and actions (no `match` list, no text). Parsing the messages and
// reading them back took ~30% of the server's time for a batch of 10k oxm mods; this reads
// each field once, in place.
//
// It only ever says "decoded" when protobuf would have parsed the same bytes into the same
// request and FlowModDecoder::decode would have succeeded with the same mods: anything else
// (malformed bytes, unknown or repeated sub-messages, a field in a wire type protobuf would
// keep as unknown, non-ASCII strings, text or `match` mods, a mod that does not decode) makes
// it give up, and the caller parses with protobuf, which then produces the error, if any.
#pragma once

#include <string_view>
#include <vector>

#include "vswitchd/api/flow_mod_decode.h"

namespace sluice::api {

// True: `out` holds every mod (in order) and `bridge` the request's bridge (a view into
// `wire`). False: use protobuf; `out` holds garbage (decode() clears it).
bool decode_flow_mod_wire(std::string_view wire, FlowModDecoder& decoder, std::vector<ofp::FlowMod>& out,
                          std::string_view& bridge);

}  // namespace sluice::api
