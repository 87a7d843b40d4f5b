// One region as a process on the ZeroMQ bus (`elarin region NAME --bus tcp://...`): a
// DEALER socket named after the region connects to the relay (the corpus callosum), says
// hello with its ports, then answers the relay's requests one at a time, in order: ticks,
// learning, neuromodulation, saving and loading its own file, development. A malformed
// message is counted and dropped; a request the region cannot serve gets an error reply.
// Neither ever ends the process. Leaves out the relay side: brain/corpus_callosum.hpp.
//
//   auto region = kind.make(settings, facts);
//   std::atomic<bool> stop{false};
//   elarin::brain::BusStats s = elarin::brain::serve_region(*region, "tcp://127.0.0.1:5555",
//   &stop);
#pragma once

#include <atomic>
#include <string>

#include "elarin/brain/message.hpp"
#include "elarin/brain/region.hpp"

namespace elarin::brain {

// Serves until a stop request or *stop turns true. Idle for `hello_every_s`, the region says
// hello again, so a relay that started after it still finds it. Returns what it received.
BusStats serve_region(Region& region, const std::string& endpoint, const std::atomic<bool>* stop,
                      double hello_every_s = 2.0);

}  // namespace elarin::brain
