#include "metrics/http_server.h"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

using namespace sealpost::metrics;
namespace asio = boost::asio;

namespace {
// One raw HTTP exchange over loopback; returns everything the server sent.
std::string exchange(std::uint16_t port, const std::string& request) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(s, asio::buffer(request));
  std::string out;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(out), ec);  // until the server closes
  return out;
}
}  // namespace

TEST_CASE("the endpoint serves /metrics and /health on loopback") {
  Registry r;
  r.counter("hits_total", "Hits.").inc(5);
  std::atomic<bool> healthy{true};
  auto server = HttpServer::start("127.0.0.1:0", r, [&] { return healthy.load(); });
  REQUIRE(server.ok());
  const auto port = (*server)->port();
  REQUIRE(port != 0);

  const std::string metrics = exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_THAT(metrics, Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
  CHECK_THAT(metrics, Catch::Contains("Content-Type: text/plain; version=0.0.4"));
  CHECK_THAT(metrics,
             Catch::EndsWith(
                 "\r\n\r\n# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total 5\n"));

  CHECK_THAT(exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"),
             Catch::EndsWith("\r\n\r\nok\n"));
  healthy = false;
  CHECK_THAT(exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"),
             Catch::StartsWith("HTTP/1.1 503"));
  CHECK_THAT(exchange(port, "GET /secret HTTP/1.1\r\nHost: x\r\n\r\n"),
             Catch::StartsWith("HTTP/1.1 404"));
  CHECK_THAT(exchange(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
             Catch::StartsWith("HTTP/1.1 405"));
}

TEST_CASE("oversized or malformed requests are dropped without a response") {
  Registry r;
  auto server = HttpServer::start("127.0.0.1:0", r);
  REQUIRE(server.ok());
  const std::string huge =
      "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(20000, 'a') + "\r\n\r\n";
  CHECK(exchange((*server)->port(), huge).empty());
  CHECK(exchange((*server)->port(), "NOT HTTP\r\n\r\n").empty());
  // Still serving afterwards.
  CHECK_THAT(exchange((*server)->port(), "GET /health HTTP/1.0\r\n\r\n"), Catch::Contains("ok"));
}

TEST_CASE("non-loopback addresses are refused") {
  Registry r;
  auto server = HttpServer::start("0.0.0.0:0", r);
  REQUIRE_FALSE(server.ok());
  CHECK_THAT(server.error().what(), Catch::Contains("loopback"));
  CHECK_FALSE(HttpServer::start("nonsense", r).ok());
}

TEST_CASE("the server stops cleanly while a client is still connected") {
  Registry r;
  asio::io_context io;
  asio::ip::tcp::socket idle(io);
  {
    auto server = HttpServer::start("127.0.0.1:0", r);
    REQUIRE(server.ok());
    idle.connect({asio::ip::make_address("127.0.0.1"), (*server)->port()});
    asio::write(idle, asio::buffer(std::string("GET /metr")));  // never finished
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }  // destructor must not hang or crash with the request half read
  std::string rest;
  boost::system::error_code ec;
  asio::read(idle, asio::dynamic_buffer(rest), ec);
  CHECK(rest.empty());
  CHECK(ec);  // closed by the server going away
}
