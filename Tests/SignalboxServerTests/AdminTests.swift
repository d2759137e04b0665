import HTTPTypes
import Hummingbird
import SignalboxCore
import SignalboxJSON
import Testing

@testable import SignalboxServer

struct AdminTests {
    @Test func gatewayLifecycle() async throws {
        try await TestServer.run { server in
            let created = try await server.send(.post, "/admin/gateways", body: #"{"name":"gw1"}"#)
            #expect(created.status == 201)
            let token = try #require(created.json["token"]?.string)
            let keyID = try #require(created.json["accessKeyId"]?.string)
            let secret = try #require(created.json["secretAccessKey"]?.string)
            #expect(token == "\(keyID).\(secret)")
            #expect(created.json["name"] == "gw1")

            let duplicate = try await server.send(.post, "/admin/gateways", body: #"{"name":"gw1"}"#)
            #expect(duplicate.status == 409)
            #expect(duplicate.errorType == "ConflictException")
            let invalid = try await server.send(.post, "/admin/gateways", body: #"{"name":"bad name"}"#)
            #expect(invalid.status == 400)
            let noName = try await server.send(.post, "/admin/gateways", body: #"{}"#)
            #expect(noName.status == 400)

            let list = try await server.send(.get, "/admin/gateways")
            #expect(list.json["gateways"]?[0]?["name"] == "gw1")

            #expect(try await server.send(.put, "/admin/gateways/gw1/devices/d1").status == 200)
            #expect(try await server.send(.put, "/admin/gateways/nope/devices/d1").status == 404)
            #expect(try await server.send(.get, "/admin/gateways/gw1/devices").json["devices"] == ["d1"])
            #expect(try await server.send(.get, "/things/d1/shadow", token: token).status == 404)  // allowed, absent
            #expect(try await server.send(.delete, "/admin/gateways/gw1/devices/d1").status == 200)
            #expect(try await server.send(.delete, "/admin/gateways/gw1/devices/d1").status == 404)
            #expect(try await server.send(.get, "/things/d1/shadow", token: token).status == 403)

            #expect(try await server.send(.delete, "/admin/gateways/gw1").status == 200)
            #expect(try await server.send(.delete, "/admin/gateways/gw1").status == 404)
            let revoked = try await server.send(.get, "/things/d1/shadow", token: token)
            #expect(revoked.status == 401)
        }
    }

    @Test func tokensAreShownOnceAndRevocable() async throws {
        try await TestServer.run { server in
            let created = try await server.send(.post, "/admin/tokens", body: #"{"role":"admin"}"#)
            #expect(created.status == 201)
            let token = try #require(created.json["token"]?.string)
            let id = try #require(created.json["id"]?.string)
            let secret = try #require(created.json["secretAccessKey"]?.string)
            #expect(id.hasPrefix("SBX") && id.count == 20)
            #expect(secret.count == 40)
            #expect(created.json["role"] == "admin")

            let listed = try await server.send(.get, "/admin/tokens", token: token)
            #expect(listed.status == 200)
            #expect(!listed.text.contains(secret))
            #expect(!listed.text.contains(server.admin.secret))
            #expect(!listed.text.contains("secret") && !listed.text.contains("Hash"))
            guard case .array(let tokens)? = listed.json["tokens"] else {
                Issue.record("no tokens: \(listed.text)")
                return
            }
            #expect(Set(tokens.compactMap { $0["id"]?.string }) == [id, server.admin.id])
            #expect(
                tokens.allSatisfy { token in
                    if case .object(let object) = token {
                        return object.keys == ["id", "role", "gateway", "createdAt", "bearerOnly"]
                    }
                    return false
                })

            let gateway = try await server.send(.post, "/admin/tokens", body: #"{"role":"gateway","gateway":"none"}"#)
            #expect(gateway.status == 404)
            let badRole = try await server.send(.post, "/admin/tokens", body: #"{"role":"root"}"#)
            #expect(badRole.status == 400)

            #expect(try await server.send(.delete, "/admin/tokens/\(id)").status == 200)
            #expect(try await server.send(.delete, "/admin/tokens/\(id)").status == 404)
            let revoked = try await server.send(.get, "/admin/tokens", token: token)
            #expect(revoked.status == 401)
            #expect(revoked.errorType == "UnauthorizedException")
        }
    }
}
