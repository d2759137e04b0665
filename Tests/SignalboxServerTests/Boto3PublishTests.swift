import Foundation
import SignalboxCore
import SignalboxTestSupport
import Testing

@testable import SignalboxServer

/// Publishes with boto3's unchanged `iot-data` client (Tests/Integration/boto3_publish.py), signed
/// with SigV4 as a gateway: the proof that `POST /topics/{topic}` is what the AWS SDKs send.
struct Boto3PublishTests {
    @Test(.timeLimit(.minutes(10)))
    func boto3PublishReachesIngestWithExactBytes() async throws {
        let root = ProcessRunner.repositoryRoot
        let setup = try await ProcessRunner.run(
            "/bin/sh", [root.appendingPathComponent("Tests/Integration/venv.sh").path])
        try #require(setup.status == 0, "Tests/Integration/venv.sh failed:\n\(setup.output)")
        let python = try #require(
            setup.output.split(separator: "\n").last.map(String.init), "venv.sh printed no python path")

        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest) { server in
            try await server.registry.addGateway(Gateway(name: "boto-gw", createdAt: 0))
            let issued = try server.vault.issue(role: .gateway, gateway: "boto-gw", createdAt: 0)
            try await server.registry.addToken(issued.record)
            let outcome = try await ProcessRunner.run(
                python, [root.appendingPathComponent("Tests/Integration/boto3_publish.py").path],
                environment: [
                    "SIGNALBOX_ENDPOINT": "http://127.0.0.1:\(server.port)",
                    "SIGNALBOX_ACCESS_KEY_ID": issued.id,
                    "SIGNALBOX_SECRET_ACCESS_KEY": issued.secret,
                    "SIGNALBOX_GATEWAY": "boto-gw",
                ])
            #expect(outcome.status == 0, "boto3_publish.py failed:\n\(outcome.output)")
            let messages = ingest.messages
            #expect(
                messages.map(\.topic) == [
                    "gateways/boto-gw/devices/fridge-7/telemetry", "gateways/boto-gw/devices/fridge 8/raw",
                    "gateways/boto-gw/devices/café/status",
                ])
            #expect(
                messages.map(\.payload) == [
                    Array(#"{"temp": 4.5, "door": "closed"}"#.utf8), [0, 1, 2, 254, 255], [],
                ])
            #expect(messages.allSatisfy { $0.gateway == "boto-gw" })
        }
    }
}
