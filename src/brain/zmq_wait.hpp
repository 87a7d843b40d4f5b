// Internal to the bus (relay and region service): the log throttle they share,
// and waiting on a ZeroMQ socket and reading a whole message through
// signals. A signal (Ctrl+C, SIGTERM) interrupts poll and recv with EINTR; the bus treats
// that as "nothing yet" and the caller checks its stop flag, instead of dying mid-tick.
#pragma once

#include <zmq.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <vector>

#include "elarin/core/stopwatch.hpp"  // now_seconds: deadlines and heartbeats

namespace elarin::brain {

// Rejections are logged at 1, 10, 100, ...: a flood of garbage cannot flood the log.
inline bool is_power_of_ten(int64_t n) {
  while (n >= 10 && n % 10 == 0) n /= 10;
  return n == 1;
}

// True if a message is waiting within `ms`; false on timeout or a signal.
inline bool wait_readable(zmq::socket_t& sock, int ms) {
  zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
  try {
    zmq::poll(&item, 1, std::chrono::milliseconds(ms));
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return false;
    throw;
  }
  return (item.revents & ZMQ_POLLIN) != 0;
}

// All frames of the next message (call after wait_readable said one is there).
inline std::vector<zmq::message_t> read_frames(zmq::socket_t& sock) {
  std::vector<zmq::message_t> frames;
  do {
    frames.emplace_back();
    while (true) {
      try {
        if (!sock.recv(frames.back(), zmq::recv_flags::none)) return frames;
        break;
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
      }
    }
  } while (frames.back().more());
  return frames;
}

}  // namespace elarin::brain
