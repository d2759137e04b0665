import Foundation
import Logging
import SignalboxCore
import SignalboxShadows
import SignalboxTesting
import Testing

@testable import SignalboxServer

struct StartupTests {
    @Test(arguments: [
        ("127.0.0.1", true), ("127.1.2.3", true), ("localhost", true), ("::1", true), ("[::1]", true),
        ("0.0.0.0", false), ("10.0.0.1", false), ("::", false), ("example.com", false), ("127.0.0.256", false),
    ])
    func loopbackDetection(host: String, loopback: Bool) {
        #expect(ServerConfiguration(host: host).isLoopback == loopback)
    }

    @Test func refusesNonLoopbackWithoutAnAdminToken() async throws {
        let registry = InMemoryIdentityRegistry()
        let vault = try TokenVault(keyBytes: TestServer.key)
        let server = SignalboxServer(
            configuration: ServerConfiguration(host: "0.0.0.0", port: 0),
            shadows: ShadowService(storage: InMemoryShadowStorage()), registry: registry, vault: vault)
        let error = await #expect(throws: SignalboxServer.StartupError.self) { try await server.makeApplication() }
        #expect(error?.description.contains("admin token") == true)

        try await registry.addToken(try vault.issue(role: .admin, gateway: nil, createdAt: 0).record)
        _ = try await server.makeApplication()  // built, not run
    }

    @Test func loopbackStartsWithoutTokens() async throws {
        let server = SignalboxServer(
            configuration: ServerConfiguration(port: 0), shadows: ShadowService(storage: InMemoryShadowStorage()),
            registry: InMemoryIdentityRegistry(), vault: try TokenVault(keyBytes: TestServer.key))
        _ = try await server.makeApplication()
    }

    @Test func missingTLSFilesAreAClearError() async throws {
        let server = SignalboxServer(
            configuration: ServerConfiguration(
                port: 0, tls: .init(certificatePath: "/nonexistent/cert.pem", keyPath: "/nonexistent/key.pem")),
            shadows: ShadowService(storage: InMemoryShadowStorage()), registry: InMemoryIdentityRegistry(),
            vault: try TokenVault(keyBytes: TestServer.key))
        let error = await #expect(throws: SignalboxServer.StartupError.self) { try await server.makeApplication() }
        #expect(error?.description.contains("/nonexistent/cert.pem") == true)
    }
}
