// A closed-loop HTTP load generator for the shadow API: N keep-alive connections, each sending the
// next request as soon as the previous reply has arrived; prints throughput and latency percentiles.
//
//     swift run -c release --package-path Benchmarks http-load \
//         --port 8080 --token "$TOKEN" --connections 32 --requests 200000 --things 10000 --mode update

import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

struct Options {
    var host = "127.0.0.1"
    var port = 8080
    var token = ""
    var connections = 32
    var requests = 100_000
    var things = 10_000
    var mode = "update"

    init(_ arguments: [String]) {
        var i = 1
        func next() -> String {
            i += 1
            guard i < arguments.count else { fatalError("missing value for \(arguments[i - 1])") }
            return arguments[i]
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--host": host = next()
            case "--port": port = Int(next()) ?? port
            case "--token": token = next()
            case "--connections": connections = Int(next()) ?? connections
            case "--requests": requests = Int(next()) ?? requests
            case "--things": things = Int(next()) ?? things
            case "--mode": mode = next()
            default: fatalError("unknown option \(arguments[i])")
            }
            i += 1
        }
    }
}

let options = Options(CommandLine.arguments)
let perConnection = options.requests / options.connections

/// Runs one connection's share of requests; returns each request's latency in nanoseconds and the
/// number of non-2xx replies.
func runConnection(_ index: Int, group: MultiThreadedEventLoopGroup) async throws -> ([Int64], Int) {
    let channel = try await ClientBootstrap(group: group)
        .channelOption(.socketOption(.tcp_nodelay), value: 1)
        .connect(host: options.host, port: options.port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                    wrappingChannelSynchronously: channel)
            }
        }
    var latencies: [Int64] = []
    latencies.reserveCapacity(perConnection)
    var failures = 0
    try await channel.executeThenClose { inbound, outbound in
        var responses = inbound.makeAsyncIterator()
        let clock = ContinuousClock()
        for n in 0..<perConnection {
            let thing = "thing-\((index * perConnection + n) % options.things)"
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/things/\(thing)/shadow")
            head.headers.add(name: "host", value: options.host)
            head.headers.add(name: "authorization", value: "Bearer \(options.token)")
            var body: ByteBuffer?
            if options.mode == "update" {
                head.method = .POST
                let json = #"{"state":{"reported":{"temp":\#(n % 40),"battery":\#(n % 100),"ok":true}}}"#
                body = ByteBuffer(string: json)
                head.headers.add(name: "content-type", value: "application/json")
                head.headers.add(name: "content-length", value: "\(json.utf8.count)")
            }
            let start = clock.now
            try await outbound.write(.head(head))
            if let body { try await outbound.write(.body(.byteBuffer(body))) }
            try await outbound.write(.end(nil))
            var status = 0
            loop: while let part = try await responses.next() {
                switch part {
                case .head(let responseHead): status = Int(responseHead.status.code)
                case .body: continue
                case .end: break loop
                }
            }
            let elapsed = clock.now - start
            latencies.append(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
            if !(200..<300).contains(status) { failures += 1 }
        }
    }
    return (latencies, failures)
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let started = ContinuousClock.now
var all: [Int64] = []
var failures = 0
try await withThrowingTaskGroup(of: ([Int64], Int).self) { tasks in
    for index in 0..<options.connections {
        tasks.addTask { try await runConnection(index, group: group) }
    }
    for try await (latencies, failed) in tasks {
        all.append(contentsOf: latencies)
        failures += failed
    }
}
let elapsed = ContinuousClock.now - started
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
all.sort()
let sorted = all
func percentile(_ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
}
print("mode \(options.mode), \(options.connections) connections, \(all.count) requests in \(String(format: "%.2f", seconds)) s")
print("throughput \(Int(Double(all.count) / seconds)) requests/s, \(failures) non-2xx")
print("latency µs: p50 \(percentile(0.5)) p90 \(percentile(0.9)) p99 \(percentile(0.99)) p99.9 \(percentile(0.999)) max \(percentile(1.0))")
try await group.shutdownGracefully()
