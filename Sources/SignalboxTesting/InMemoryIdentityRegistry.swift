import SignalboxCore
import Synchronization

/// An ``IdentityRegistry`` in memory, for tests.
package final class InMemoryIdentityRegistry: IdentityRegistry {
    private struct State {
        var gateways: [String: Gateway] = [:]
        var tokens: [String: TokenRecord] = [:]
        var bindings: [String: String] = [:]
    }

    private let state = Mutex(State())

    /// Creates an empty registry.
    package init() {}

    package func addGateway(_ gateway: Gateway) async throws {
        guard ShadowKey.isValid(gateway.name, allowingDollar: false, maxLength: 128) else {
            throw IdentityError.invalidName(gateway.name)
        }
        try state.withLock { state throws(IdentityError) in
            guard state.gateways[gateway.name] == nil else { throw .gatewayExists(gateway.name) }
            state.gateways[gateway.name] = gateway
        }
    }

    package func gateways() async throws -> [Gateway] {
        state.withLock { $0.gateways.values.sorted { $0.name < $1.name } }
    }

    package func removeGateway(_ name: String) async throws -> Bool {
        state.withLock { state in
            guard state.gateways.removeValue(forKey: name) != nil else { return false }
            state.tokens = state.tokens.filter { $0.value.gateway != name }
            state.bindings = state.bindings.filter { $0.value != name }
            return true
        }
    }

    package func addToken(_ token: TokenRecord) async throws {
        try state.withLock { state throws(IdentityError) in
            if let gateway = token.gateway, state.gateways[gateway] == nil { throw .unknownGateway(gateway) }
            state.tokens[token.id] = token
        }
    }

    package func token(id: String) async throws -> TokenRecord? {
        state.withLock { $0.tokens[id] }
    }

    package func tokens() async throws -> [TokenRecord] {
        state.withLock { $0.tokens.values.sorted { $0.id < $1.id } }
    }

    package func removeToken(id: String) async throws -> Bool {
        state.withLock { $0.tokens.removeValue(forKey: id) != nil }
    }

    package func hasAdminToken() async throws -> Bool {
        state.withLock { $0.tokens.values.contains { $0.role == .admin } }
    }

    package func bind(thing: String, to gateway: String) async throws {
        try state.withLock { state throws(IdentityError) in
            guard state.gateways[gateway] != nil else { throw .unknownGateway(gateway) }
            if let current = state.bindings[thing], current != gateway {
                throw .thingBoundElsewhere(thing: thing, gateway: current)
            }
            state.bindings[thing] = gateway
        }
    }

    package func unbind(thing: String) async throws -> Bool {
        state.withLock { $0.bindings.removeValue(forKey: thing) != nil }
    }

    package func gateway(of thing: String) async throws -> String? {
        state.withLock { $0.bindings[thing] }
    }

    package func things(of gateway: String) async throws -> [String] {
        state.withLock { state in state.bindings.filter { $0.value == gateway }.map(\.key).sorted() }
    }
}
