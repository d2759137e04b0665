import HTTPTypes
import Testing

@testable import SignalboxServer

/// The router's contract: credentials before everything but the public routes, 404 only for paths
/// that do not exist, 405 for a method a known path does not take, admin paths closed to gateways.
struct RoutingTests {
    /// Every path the API serves (a sample of each pattern) and the methods it takes.
    static let paths: [(path: String, methods: Set<HTTPRequest.Method>)] = [
        ("/things/t/shadow", [.get, .post, .delete]),
        ("/api/things/shadow/ListNamedShadowsForThing/t", [.get]),
        ("/gateways/gw/sync", [.get]),
        ("/topics/a/b", [.post]),
        ("/gateways/gw/messages", [.post]),
        ("/admin/gateways", [.get, .post]),
        ("/admin/gateways/gw", [.delete]),
        ("/admin/gateways/gw/devices", [.get]),
        ("/admin/gateways/gw/devices/t", [.put, .delete]),
        ("/admin/tokens", [.get, .post]),
        ("/admin/tokens/SBX1", [.delete]),
        ("/records", [.get]),
        ("/records/readings", [.get]),
        ("/admin/rules", [.get]),
        ("/admin/rules/reload", [.post]),
        ("/admin/rules/test", [.post]),
        ("/admin/dead-letters", [.get]),
        ("/admin/dead-letters/1", [.delete]),
        ("/admin/dead-letters/1/retry", [.post]),
        ("/admin/throttles", [.get, .delete]),
        ("/metrics", [.get]),
    ]

    static let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options]

    @Test func aKnownPathRefusesOtherMethodsWith405() async throws {
        try await TestServer.run { server in
            for (path, methods) in Self.paths {
                // HEAD is answered wherever GET is.
                let allowed = methods.contains(.get) ? methods.union([.head]) : methods
                for method in Self.methods where !allowed.contains(method) {
                    let reply = try await server.send(method, path)
                    #expect(reply.status == 405, "\(method) \(path)")
                    if method != .head {
                        #expect(reply.errorType == "MethodNotAllowedException", "\(method) \(path)")
                    }
                }
            }
            for (method, path) in [(HTTPRequest.Method.post, "/healthz"), (.delete, "/readyz")] {
                let reply = try await server.send(method, path, token: .some(nil))
                #expect(reply.status == 405, "\(method) \(path) without credentials")
            }
        }
    }

    @Test func credentialsComeBeforeWhetherAPathExists() async throws {
        try await TestServer.run { server in
            for path in ["/nowhere", "/things/t/shadow/extra", "/admin", "/things%2Ft/shadow", "/metrics"] {
                let anonymous = try await server.send(.get, path, token: .some(nil))
                #expect(anonymous.status == 401, "\(path)")
                #expect(anonymous.errorType == "UnauthorizedException", "\(path)")
                let wrong = try await server.send(.get, path, token: "SBXAAAAAAAAAAAAAAAAA.wrong")
                #expect(wrong.status == 401, "\(path)")
            }
            for path in ["/nowhere", "/things/t/shadow/extra", "/admin", "/things%2Ft/shadow"] {
                let reply = try await server.send(.get, path)
                #expect(reply.status == 404, "\(path)")
                #expect(reply.errorType == "ResourceNotFoundException", "\(path)")
                #expect(reply.message == "No endpoint at this path (GET)", "\(path)")
            }
            for path in ["/healthz", "/readyz"] {
                #expect(try await server.send(.get, path, token: .some(nil)).status == 200, "\(path)")
                let head = try await server.send(.head, path, token: .some(nil))
                #expect(head.status == 200, "HEAD \(path)")
                #expect(head.text.isEmpty, "HEAD \(path)")
            }
        }
    }

    @Test func aGatewayIsRefusedOnAdminPathsBeforeItsBodyIsRead() async throws {
        try await TestServer.run(configure: { $0.maxBodyBytes = 64 }) { server in
            let created = try await server.send(.post, "/admin/gateways", body: #"{"name":"gw"}"#)
            let token = try #require(created.json["token"]?.string)
            let oversized = String(repeating: " ", count: 1000) + "{}"
            for (path, allowed) in Self.paths where path.hasPrefix("/admin") || path.hasPrefix("/records") {
                for method in [HTTPRequest.Method.get, .post, .put, .delete] {
                    let reply = try await server.send(method, path, token: token, body: oversized)
                    #expect(reply.status == 403, "\(method) \(path) \(allowed)")
                    #expect(reply.errorType == "ForbiddenException", "\(method) \(path)")
                }
            }
            // An admin's oversized body is refused as such.
            let admin = try await server.send(.post, "/admin/gateways", body: oversized)
            #expect(admin.status == 413)
        }
    }

    @Test func aPathParameterIsDecodedFromTheRawPath() async throws {
        try await TestServer.run { server in
            let created = try await server.send(.post, "/admin/gateways", body: #"{"name":"gw-1"}"#)
            #expect(created.status == 201)
            // `%2D` is `-`: the router matched the raw segment, the handler got it decoded.
            let devices = try await server.send(.get, "/admin/gateways/gw%2D1/devices")
            #expect(devices.status == 200)
            #expect(devices.json["gateway"] == "gw-1")
            let malformed = try await server.send(.get, "/admin/gateways/gw%2/devices")
            #expect(malformed.status == 400)
            #expect(malformed.errorType == "InvalidRequestException")
        }
    }
}
