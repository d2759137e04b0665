import Foundation
import SignalboxTestSupport
import Testing

@testable import SignalboxServer

struct TLSTests {
    @Test func servesHTTPSWithASelfSignedCertificate() async throws {
        let openssl = try #require(ProcessRunner.which("openssl"), "openssl is required for the TLS test; install it")
        let curl = try #require(ProcessRunner.which("curl"), "curl is required for the TLS test; install it")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sbx-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cert = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let generated = try await ProcessRunner.run(
            openssl,
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ])
        try #require(generated.status == 0, "openssl failed: \(generated.output)")

        try await TestServer.run(configure: { $0.tls = .init(certificatePath: cert, keyPath: key) }) { server in
            let base = "https://127.0.0.1:\(server.port)"
            let health = try await ProcessRunner.run(curl, ["-sS", "--fail", "--cacert", cert, "\(base)/healthz"])
            #expect(health.status == 0, "\(health.output)")
            #expect(health.output.contains(#""status":"ok""#))

            let update = try await ProcessRunner.run(
                curl,
                [
                    "-sS", "--fail", "--cacert", cert, "-X", "POST", "-H",
                    "Authorization: Bearer \(server.admin.token)",
                    "--data", #"{"state":{"desired":{"on":true}}}"#, "\(base)/things/tls-thing/shadow",
                ])
            #expect(update.status == 0, "\(update.output)")
            #expect(update.output.contains(#""version":1"#))

            // Plain HTTP to the TLS port fails; an untrusted client refuses the certificate.
            let plain = try await ProcessRunner.run(
                curl, ["-sS", "--max-time", "5", "http://127.0.0.1:\(server.port)/healthz"])
            #expect(plain.status != 0)
            let untrusted = try await ProcessRunner.run(curl, ["-sS", "--max-time", "5", "\(base)/healthz"])
            #expect(untrusted.status != 0)
        }
    }
}
