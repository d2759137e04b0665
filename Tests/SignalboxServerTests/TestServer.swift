import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxShadows
import SignalboxTesting
import Testing

@testable import SignalboxServer

/// A Signalbox server on an ephemeral loopback port, with in-memory storage and registry and one
/// admin token; always stopped when the test body returns.
struct TestServer: Sendable {
    let port: Int
    let registry: InMemoryIdentityRegistry
    let vault: TokenVault
    let admin: TokenVault.IssuedToken
    /// Starts a graceful shutdown (the harness also does at the end).
    let shutDown: @Sendable () async -> Void

    static let key = [UInt8](repeating: 7, count: 32)

    /// Runs `body` against a fresh server.
    static func run<T: Sendable>(
        configure: (inout ServerConfiguration) -> Void = { _ in },
        clock: WallClock = .system,
        prepare: @Sendable (InMemoryIdentityRegistry, TokenVault) async throws -> Void = { _, _ in },
        _ body: @Sendable (TestServer) async throws -> T
    ) async throws -> T {
        var configuration = ServerConfiguration(port: 0)
        configuration.clock = clock
        configure(&configuration)
        var logger = Logger(label: "signalbox.test")
        logger.logLevel = .warning
        let registry = InMemoryIdentityRegistry()
        let vault = try TokenVault(keyBytes: key)
        let admin = try vault.issue(role: .admin, gateway: nil, createdAt: 1)
        try await registry.addToken(admin.record)
        try await prepare(registry, vault)
        let shadows = ShadowService(
            storage: InMemoryShadowStorage(), limits: configuration.limits, clock: { clock.seconds() },
            logger: logger)
        let server = SignalboxServer(
            configuration: configuration, shadows: shadows, registry: registry, vault: vault, logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try await server.makeApplication { port in continuation.yield(port) }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("the server never came up") }
            let harness = TestServer(
                port: port, registry: registry, vault: vault, admin: admin,
                shutDown: { await group.triggerGracefulShutdown() })
            do {
                let value = try await body(harness)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return value
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    /// Sends one request on a fresh connection; `token` is a bearer token (the admin's by default,
    /// `nil` for none).
    func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String?? = .none, headers: HTTPFields = [:],
        body: String? = nil, bytes: [UInt8]? = nil, authority: String? = nil
    ) async throws -> Reply {
        var headers = headers
        let bearer: String? = token ?? admin.token
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        let request = TestClient.Request(
            uri, method: method, authority: authority ?? "127.0.0.1:\(port)", headers: headers,
            body: body.map { ByteBuffer(string: $0) } ?? bytes.map { ByteBuffer(bytes: $0) })
        let response = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            try await client.execute(request)
        }
        return Reply(response)
    }
}

/// A response, with its body parsed as JSON.
struct Reply: Sendable {
    let status: Int
    let headers: HTTPFields
    let text: String

    init(_ response: TestClient.Response) {
        status = response.status.code
        headers = response.headers
        text = response.body.map { String(buffer: $0) } ?? ""
    }

    var json: Value { (try? JSONParser.parse(text)) ?? .null }
    var errorType: String? { headers[HTTPField.Name("x-amzn-ErrorType")!] }
    var message: String? {
        if case .string(let message)? = json["message"] { return message }
        return nil
    }
    var contentType: String? { headers[.contentType] }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Value {
    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}
