import Foundation
import SignalboxCore
import SignalboxTestSupport
import Testing

@testable import SignalboxServer

/// Drives the server with boto3's unchanged `iot-data` client (Tests/Integration/boto3_shadows.py):
/// the proof that SigV4 verification and the REST mapping match AWS.
struct Boto3Tests {
    /// As the admin, and as a gateway whose devices are auto-bound on first use.
    @Test(.timeLimit(.minutes(10)), arguments: [false, true])
    func boto3IotDataClientWorksUnchanged(asGateway: Bool) async throws {
        let root = ProcessRunner.repositoryRoot
        let setup = try await ProcessRunner.run(
            "/bin/sh", [root.appendingPathComponent("Tests/Integration/venv.sh").path])
        try #require(setup.status == 0, "Tests/Integration/venv.sh failed:\n\(setup.output)")
        let python = try #require(
            setup.output.split(separator: "\n").last.map(String.init), "venv.sh printed no python path")
        try #require(FileManager.default.isExecutableFile(atPath: python), "not an executable: \(python)")

        try await TestServer.run(configure: { $0.autoBindDevices = asGateway }) { server in
            var keyID = server.admin.id
            var secret = server.admin.secret
            if asGateway {
                try await server.registry.addGateway(Gateway(name: "boto-gw", createdAt: 0))
                let issued = try server.vault.issue(role: .gateway, gateway: "boto-gw", createdAt: 0)
                try await server.registry.addToken(issued.record)
                (keyID, secret) = (issued.id, issued.secret)
            }
            let outcome = try await ProcessRunner.run(
                python, [root.appendingPathComponent("Tests/Integration/boto3_shadows.py").path],
                environment: [
                    "SIGNALBOX_ENDPOINT": "http://127.0.0.1:\(server.port)",
                    "SIGNALBOX_ACCESS_KEY_ID": keyID,
                    "SIGNALBOX_SECRET_ACCESS_KEY": secret,
                ])
            print(outcome.output)
            #expect(outcome.status == 0, "boto3_shadows.py failed:\n\(outcome.output)")
        }
    }
}
