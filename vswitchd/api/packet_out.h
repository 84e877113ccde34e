// Packet-out: a controller's frame sent through the datapath with actions (ovs-ofctl action
// text, parsed by rule_text) or to one output port. Reserved ports are resolved here, on top
// of the Datapath's public API: IN_PORT → the packet's in_port, FLOOD/ALL → every datapath
// port but in_port (no VLAN filtering), CONTROLLER → a punt back as a packet-in. NORMAL and
// goto_table need the pipeline itself and are refused (an Ofproto::packet_out would add them).
#pragma once

#include <string>

#include "datapath/datapath.h"
#include "datapath/status.h"
#include "sluice/v1/packet_io.pb.h"
#include "vswitchd/ofproto/ofproto.h"

namespace sluice::api {

// Errors: INVALID_ARGUMENT (packet: too short or too long; actions: unparsable or
// unsupported), NOT_FOUND (output port or in_port not in the datapath), RESOURCE_EXHAUSTED
// (no mbuf free).
Status packet_out(dp::Datapath& dp, ofp::Ofproto& ofproto, const v1::PacketOut& out);

}  // namespace sluice::api
