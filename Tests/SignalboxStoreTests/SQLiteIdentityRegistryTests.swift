import SignalboxCore
import SignalboxStore
import Testing

struct SQLiteIdentityRegistryTests {
    private func token(_ id: String, role: TokenRole = .gateway, gateway: String? = nil) -> TokenRecord {
        TokenRecord(
            id: id, role: role, gateway: gateway, secretHash: [1, 2, 3, UInt8(id.utf8.count)],
            sealedSecret: [9, 8, 7, 0, 255], createdAt: 1_732_200_000)
    }

    @Test func gatewaysAreAddedListedAndRemoved() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                let registry = SQLiteIdentityRegistry(database: database)
                #expect(try await registry.gateways() == [])
                try await registry.addGateway(Gateway(name: "site-b", createdAt: 2))
                try await registry.addGateway(Gateway(name: "site-a", createdAt: 1))
                #expect(
                    try await registry.gateways() == [
                        Gateway(name: "site-a", createdAt: 1), Gateway(name: "site-b", createdAt: 2),
                    ])
                await #expect(throws: IdentityError.gatewayExists("site-a")) {
                    try await registry.addGateway(Gateway(name: "site-a", createdAt: 3))
                }
                for name in ["", "has space", "dollar$", String(repeating: "x", count: 129)] {
                    await #expect(throws: IdentityError.invalidName(name)) {
                        try await registry.addGateway(Gateway(name: name, createdAt: 3))
                    }
                }
                #expect(try await registry.removeGateway("site-a"))
                #expect(try await registry.removeGateway("site-a") == false)
                #expect(try await registry.gateways() == [Gateway(name: "site-b", createdAt: 2)])
            }
        }
    }

    @Test func tokensAreStoredReplacedAndRevoked() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                let registry = SQLiteIdentityRegistry(database: database)
                #expect(try await registry.hasAdminToken() == false)
                await #expect(throws: IdentityError.unknownGateway("nowhere")) {
                    try await registry.addToken(token("SBXGATEWAY", gateway: "nowhere"))
                }
                try await registry.addGateway(Gateway(name: "site", createdAt: 1))
                let gatewayToken = token("SBXGATEWAY", gateway: "site")
                let adminToken = token("SBXADMIN", role: .admin)
                try await registry.addToken(gatewayToken)
                #expect(try await registry.hasAdminToken() == false)
                try await registry.addToken(adminToken)
                #expect(try await registry.hasAdminToken())
                #expect(try await registry.token(id: "SBXGATEWAY") == gatewayToken)
                #expect(try await registry.token(id: "SBXNONE") == nil)
                #expect(try await registry.tokens() == [adminToken, gatewayToken])

                var replaced = adminToken
                replaced.secretHash = [42]
                try await registry.addToken(replaced)
                #expect(try await registry.token(id: "SBXADMIN") == replaced)

                #expect(try await registry.removeToken(id: "SBXADMIN"))
                #expect(try await registry.removeToken(id: "SBXADMIN") == false)
                #expect(try await registry.hasAdminToken() == false)
                #expect(try await registry.tokens() == [gatewayToken])
            }
        }
    }

    @Test func thingsBindToOneGateway() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                let registry = SQLiteIdentityRegistry(database: database)
                await #expect(throws: IdentityError.unknownGateway("site-1")) {
                    try await registry.bind(thing: "fridge", to: "site-1")
                }
                try await registry.addGateway(Gateway(name: "site-1", createdAt: 1))
                try await registry.addGateway(Gateway(name: "site-2", createdAt: 1))
                try await registry.bind(thing: "fridge", to: "site-1")
                try await registry.bind(thing: "fridge", to: "site-1")
                try await registry.bind(thing: "door", to: "site-1")
                try await registry.bind(thing: "lamp", to: "site-2")
                await #expect(throws: IdentityError.thingBoundElsewhere(thing: "fridge", gateway: "site-1")) {
                    try await registry.bind(thing: "fridge", to: "site-2")
                }
                #expect(try await registry.gateway(of: "fridge") == "site-1")
                #expect(try await registry.gateway(of: "toaster") == nil)
                #expect(try await registry.things(of: "site-1") == ["door", "fridge"])
                #expect(try await registry.things(of: "site-3") == [])

                #expect(try await registry.unbind(thing: "fridge"))
                #expect(try await registry.unbind(thing: "fridge") == false)
                try await registry.bind(thing: "fridge", to: "site-2")
                #expect(try await registry.things(of: "site-2") == ["fridge", "lamp"])
            }
        }
    }

    @Test func removingAGatewayRemovesItsTokensAndBindings() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                let registry = SQLiteIdentityRegistry(database: database)
                try await registry.addGateway(Gateway(name: "doomed", createdAt: 1))
                try await registry.addGateway(Gateway(name: "kept", createdAt: 1))
                try await registry.addToken(token("SBXDOOMED", gateway: "doomed"))
                try await registry.addToken(token("SBXKEPT", gateway: "kept"))
                try await registry.addToken(token("SBXADMIN", role: .admin))
                try await registry.bind(thing: "a", to: "doomed")
                try await registry.bind(thing: "b", to: "kept")

                #expect(try await registry.removeGateway("doomed"))
                #expect(try await registry.tokens().map(\.id) == ["SBXADMIN", "SBXKEPT"])
                #expect(try await registry.gateway(of: "a") == nil)
                #expect(try await registry.gateway(of: "b") == "kept")
                #expect(try await registry.things(of: "doomed") == [])
                // Re-adding the name starts from nothing.
                try await registry.addGateway(Gateway(name: "doomed", createdAt: 2))
                try await registry.bind(thing: "a", to: "doomed")
            }
        }
    }

    @Test func identitiesPersistAcrossReopening() async throws {
        try await withTemporaryDirectory { directory in
            let stored = token("SBXGATEWAY", gateway: "site")
            try await withDatabase(directory) { database in
                let registry = SQLiteIdentityRegistry(database: database)
                try await registry.addGateway(Gateway(name: "site", createdAt: 5))
                try await registry.addToken(stored)
                try await registry.bind(thing: "fridge", to: "site")
            }
            try await withDatabase(directory, durability: .full) { database throws in
                let registry = SQLiteIdentityRegistry(database: database)
                #expect(try await registry.gateways() == [Gateway(name: "site", createdAt: 5)])
                #expect(try await registry.token(id: "SBXGATEWAY") == stored)
                #expect(try await registry.gateway(of: "fridge") == "site")
            }
        }
    }
}
