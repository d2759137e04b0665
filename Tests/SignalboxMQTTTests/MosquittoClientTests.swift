import Foundation
import Logging
import SignalboxTestSupport
import Synchronization
import Testing

@testable import SignalboxMQTT

/// ``MQTTClient`` against a real Mosquitto, with the Mosquitto command-line clients on the other side.
@Suite(.serialized)
struct MosquittoClientTests {
    /// Stores what arrives, in order; can be told to fail.
    final class Recorder: MQTTDeliveryHandler {
        private let state = Mutex<(received: [Packet.Publish], failures: Int)>(([], 0))

        var received: [Packet.Publish] { state.withLock { $0.received } }
        var payloads: [String] { received.map { String(decoding: $0.payload, as: UTF8.self) } }

        /// The next `count` batches fail.
        func fail(_ count: Int) { state.withLock { $0.failures = count } }

        func receive(_ publishes: [Packet.Publish]) async throws {
            try state.withLock { state in
                if state.failures > 0 {
                    state.failures -= 1
                    throw BrokerError("refused for the test")
                }
                state.received += publishes
            }
        }

        func waitFor(_ count: Int, seconds: Int = 10) async throws {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while received.count < count {
                guard ContinuousClock.now < deadline else {
                    throw BrokerError("received \(received.count) of \(count) messages")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    static func withClient(
        _ broker: Broker, version: ProtocolVersion, clientID: String = "signalbox-test",
        _ body: (MQTTClient, Recorder) async throws -> Void
    ) async throws {
        var configuration = MQTTClientConfiguration(
            host: "127.0.0.1", port: broker.port,
            session: .init(version: version, clientID: clientID, keepAlive: 5))
        configuration.reconnectDelay = .milliseconds(50)
        configuration.maxReconnectDelay = .milliseconds(400)
        let recorder = Recorder()
        let client = MQTTClient(
            configuration: configuration, handler: recorder, logger: Logger(label: "test.mqtt"),
            retryAfter: .milliseconds(20))
        let running = Task { await client.run() }
        defer { running.cancel() }
        await client.waitUntilConnected()
        try await body(client, recorder)
        running.cancel()
        await running.value
    }

    static func flag(_ version: ProtocolVersion) -> String { version == .v5 ? "mqttv5" : "mqttv311" }

    @Test(arguments: ProtocolVersion.allCases)
    func publishesFromMosquittoPubArriveInOrder(_ version: ProtocolVersion) async throws {
        let broker = try Broker()
        try await Self.withClient(broker, version: version) { client, recorder in
            #expect(try await client.subscribe([.init(filter: "sensors/#", qos: .atLeastOnce)]) == [1])
            let lines = (1...200).map { #"{"n":\#($0)}"# }
            try await broker.run(
                "mosquitto_pub", ["-V", Self.flag(version), "-q", "1", "-t", "sensors/f1/telemetry", "-l"],
                input: lines.joined(separator: "\n") + "\n")
            try await recorder.waitFor(200)
            #expect(recorder.payloads == lines)
            #expect(recorder.received.allSatisfy { $0.topic == "sensors/f1/telemetry" && $0.qos == .atLeastOnce })
        }
    }

    @Test(arguments: ProtocolVersion.allCases)
    func publishesReachAMosquittoSubscriber(_ version: ProtocolVersion) async throws {
        let broker = try Broker()
        // A persistent subscriber session that collects what is published while it is away.
        try await broker.run(
            "mosquitto_sub", ["-V", Self.flag(version), "-c", "-i", "watcher", "-q", "1", "-t", "out/#", "-E"])
        try await Self.withClient(broker, version: version) { client, _ in
            for n in 1...3 { try await client.publish(topic: "out/\(n)", payload: Array("m\(n)".utf8)) }
        }
        let seen = try await broker.run(
            "mosquitto_sub",
            ["-V", Self.flag(version), "-c", "-i", "watcher", "-q", "1", "-t", "out/#", "-C", "3", "-W", "10", "-v"])
        #expect(seen.split(separator: "\n") == ["out/1 m1", "out/2 m2", "out/3 m3"])
    }

    @Test func aBatchTheHandlerFailsToStoreIsOfferedAgainAndNotAcknowledgedBefore() async throws {
        let broker = try Broker()
        try await Self.withClient(broker, version: .v5) { client, recorder in
            try await client.subscribe([.init(filter: "sensors/#", qos: .atLeastOnce)])
            recorder.fail(3)
            try await broker.run("mosquitto_pub", ["-q", "1", "-t", "sensors/a", "-m", "kept"])
            try await recorder.waitFor(1)
            #expect(recorder.payloads == ["kept"])
        }
    }

    @Test func aPublishWaitingForTheBrokerEndsWhenCancelledAndIsWithdrawn() async throws {
        let broker = try Broker()
        try await broker.run("mosquitto_sub", ["-c", "-i", "watcher", "-q", "1", "-t", "out/#", "-E"])
        try await Self.withClient(broker, version: .v5) { client, _ in
            broker.stop()
            while client.isConnected { try await Task.sleep(for: .milliseconds(10)) }
            let waiting = Task { try await client.publish(topic: "out/withdrawn", payload: Array("w".utf8)) }
            try await Task.sleep(for: .milliseconds(200))
            waiting.cancel()
            await #expect(throws: CancellationError.self) { try await waiting.value }
            // Cancelled before it even started waiting: the same.
            let early = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                try await client.publish(topic: "out/never-waited", payload: [])
            }
            await #expect(throws: CancellationError.self) { try await early.value }
            // Neither was sent: only what is published once the broker is back arrives.
            try broker.start()
            try await client.publish(topic: "out/after", payload: Array("a".utf8))
        }
        let seen = try await broker.run(
            "mosquitto_sub", ["-c", "-i", "watcher", "-q", "1", "-t", "out/#", "-C", "1", "-W", "10", "-v"])
        // Had either been sent, the broker would deliver it first; and nothing else is waiting.
        #expect(seen.split(separator: "\n") == ["out/after a"])
        await #expect(throws: BrokerError.self) {
            try await broker.run(
                "mosquitto_sub", ["-c", "-i", "watcher", "-q", "1", "-t", "out/#", "-C", "1", "-W", "1"])
        }
    }

    @Test func requestsToAStoppedClientFailAtOnce() async throws {
        let broker = try Broker()
        var stoppedClient: MQTTClient?
        try await Self.withClient(broker, version: .v5) { client, _ in stoppedClient = client }
        let client = try #require(stoppedClient)
        await #expect(throws: MQTTClientError("The MQTT client stopped", kind: .stopped)) {
            try await client.publish(topic: "out/x", payload: [])
        }
        await #expect(throws: MQTTClientError("The MQTT client stopped", kind: .stopped)) {
            try await client.subscribe([.init(filter: "x/#", qos: .atLeastOnce)])
        }
        #expect(!client.enqueue(topic: "out/x", payload: []))
    }

    @Test func aBrokerRestartIsSurvived() async throws {
        let broker = try Broker()
        try await broker.run("mosquitto_sub", ["-c", "-i", "watcher", "-q", "1", "-t", "out/#", "-E"])
        try await Self.withClient(broker, version: .v5) { client, recorder in
            try await client.subscribe([.init(filter: "sensors/#", qos: .atLeastOnce)])
            broker.stop()
            // Published while the broker is down: queued, sent once the client is back.
            async let queued: Void = client.publish(topic: "out/while-down", payload: Array("q".utf8))
            try await Task.sleep(for: .milliseconds(300))
            #expect(!client.isConnected)
            try broker.start()
            try await queued
            #expect(client.connectionCount >= 2)
            // The subscription is there again (kept by the broker's persistent session, or resent).
            try await broker.run("mosquitto_pub", ["-q", "1", "-t", "sensors/b", "-m", "after"])
            try await recorder.waitFor(1)
            #expect(recorder.payloads == ["after"])
        }
        let seen = try await broker.run(
            "mosquitto_sub", ["-c", "-i", "watcher", "-q", "1", "-t", "out/#", "-C", "1", "-W", "10", "-v"])
        #expect(seen.split(separator: "\n") == ["out/while-down q"])
    }

    @Test(arguments: ProtocolVersion.allCases)
    func tlsWithASelfSignedCA(_ version: ProtocolVersion) async throws {
        let certificates = try TestCertificates()
        let broker = try Broker(configuration: certificates.brokerConfiguration)
        var configuration = MQTTClientConfiguration(
            host: "127.0.0.1", port: broker.port, useTLS: true,
            tls: .init(caFile: certificates.caFile, serverName: "localhost"),
            session: .init(version: version, clientID: "signalbox-tls"))
        configuration.reconnectDelay = .milliseconds(50)
        let recorder = Recorder()
        let client = MQTTClient(configuration: configuration, handler: recorder, logger: Logger(label: "test.mqtt"))
        let running = Task { await client.run() }
        await client.waitUntilConnected()
        try await client.subscribe([.init(filter: "sensors/#", qos: .atLeastOnce)])
        try await broker.run(
            "mosquitto_pub",
            [
                "--cafile", certificates.caFile, "-V", Self.flag(version), "-q", "1", "-t", "sensors/x", "-m",
                "over tls",
            ])
        try await recorder.waitFor(1)
        #expect(recorder.payloads == ["over tls"])
        running.cancel()
        await running.value

        // A broker certificate from a CA the client does not trust: never connected.
        configuration.tls.caFile = certificates.otherCAFile
        let untrusting = MQTTClient(
            configuration: configuration, handler: Recorder(), logger: Logger(label: "test.mqtt"))
        let refused = Task { await untrusting.run() }
        try await Task.sleep(for: .milliseconds(500))
        #expect(!untrusting.isConnected)
        #expect(untrusting.connectionCount == 0)
        refused.cancel()
        await refused.value
    }
}
