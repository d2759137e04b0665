import Foundation
import HummingbirdTesting
import NIOCore
import SignalboxCore
import Synchronization
import Testing

@testable import SignalboxServer

/// Throughput of `POST /gateways/{gateway}/messages` over loopback HTTP, with an ingest that only
/// counts. Only meaningful in release builds, so it runs only with `SIGNALBOX_THROUGHPUT=SECONDS`:
///
/// ```sh
/// swift build -c release --build-tests -Xswiftc -enable-testing
/// SIGNALBOX_THROUGHPUT=10 swift test -c release --skip-build --filter BatchThroughputTests
/// ```
///
/// The load generator shares the machine's cores with the server, so the figure is a lower bound.
struct BatchThroughputTests {
    /// Counts messages and hands out ids; keeps nothing.
    final class CountingIngest: MessageIngest {
        let count = Atomic<Int64>(0)

        func ingest(_ messages: [IncomingMessage]) async throws(IngestRefusal) -> [Int64] {
            let n = Int64(messages.count)
            let last = count.add(n, ordering: .relaxed).newValue
            return Array((last - n + 1)...last)
        }
    }

    static var seconds: Double? {
        ProcessInfo.processInfo.environment["SIGNALBOX_THROUGHPUT"].flatMap(Double.init)
    }

    /// A batch of `count` telemetry messages of about 100 bytes of payload each.
    static func batch(_ count: Int) -> ByteBuffer {
        var body = "["
        for i in 0..<count {
            if i > 0 { body += "," }
            body +=
                #"{"topic":"gateways/gw-01/devices/fridge-\#(i % 50)/telemetry","payload":{"temp":\#(Double(i % 90) / 10),"#
                + #""battery":\#(i % 100),"door":"closed","ts":1700000000\#(i % 10)}}"#
        }
        return ByteBuffer(string: body + "]")
    }

    @Test(.enabled(if: seconds != nil), .timeLimit(.minutes(5)))
    func batchesPerSecond() async throws {
        let duration = Self.seconds ?? 5
        let ingest = CountingIngest()
        try await RuntimeTestServer.run(ingest: ingest) { server in
            let token = try await server.addGateway("gw-01", things: ["fridge-1"])
            let body = Self.batch(1000)
            let workers = 4
            let start = ContinuousClock.now
            let deadline = start + .milliseconds(Int64(duration * 1000))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<workers {
                    group.addTask {
                        try await TestClient.withClient(host: "127.0.0.1", port: server.port) { client in
                            while ContinuousClock.now < deadline {
                                let response = try await client.execute(
                                    TestClient.Request(
                                        "/gateways/gw-01/messages", method: .post,
                                        authority: "127.0.0.1:\(server.port)",
                                        headers: [.authorization: "Bearer \(token)"], body: body))
                                guard response.status == .ok else {
                                    throw TestFailure("status \(response.status.code)")
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let messages = ingest.count.load(ordering: .relaxed)
            let rate = Int(Double(messages) / seconds)
            print("batch endpoint: \(messages) messages in \(String(format: "%.1f", seconds)) s = \(rate) messages/s")
            #expect(messages > 0)
        }
    }
}
