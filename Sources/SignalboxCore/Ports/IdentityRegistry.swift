/// A gateway: a named client that owns devices (things) and may read and update only their shadows.
package struct Gateway: Sendable, Hashable {
    /// The gateway's name (`[a-zA-Z0-9:_-]`, 1–128 characters, like a thing name).
    package var name: String
    /// When it was added, in seconds since the Unix epoch.
    package var createdAt: Int64

    /// Creates a gateway.
    package init(name: String, createdAt: Int64) {
        self.name = name
        self.createdAt = createdAt
    }
}

/// What a token may do.
package enum TokenRole: String, Sendable, Hashable, CaseIterable {
    /// Everything.
    case admin
    /// The shadows of its gateway's devices, and its gateway's sync stream.
    case gateway
}

/// A stored API token: its SHA-256 (to check bearer tokens) and, unless the token is bearer-only
/// (``sealedSecret`` empty), its secret sealed with the data directory's key (to check AWS SigV4
/// signatures, which need the secret itself; whoever reads the data directory can unseal it).
///
/// On the wire a bearer token reads `<id>.<secret>`; for AWS SDKs the id is the access key id and the
/// secret the secret access key.
package struct TokenRecord: Sendable, Hashable {
    /// Public identifier, also the SigV4 access key id (`SBX…`, 20 characters).
    package var id: String
    /// What the token may do.
    package var role: TokenRole
    /// The gateway a gateway token belongs to; `nil` for admin tokens.
    package var gateway: String?
    /// SHA-256 of the secret.
    package var secretHash: [UInt8]
    /// The secret sealed (AES-GCM) with the data directory's key; empty for a bearer-only token.
    package var sealedSecret: [UInt8]
    /// When it was created, in seconds since the Unix epoch.
    package var createdAt: Int64

    /// Creates a record.
    package init(
        id: String, role: TokenRole, gateway: String?, secretHash: [UInt8], sealedSecret: [UInt8], createdAt: Int64
    ) {
        self.id = id
        self.role = role
        self.gateway = gateway
        self.secretHash = secretHash
        self.sealedSecret = sealedSecret
        self.createdAt = createdAt
    }
}

/// Why an identity operation failed.
package enum IdentityError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A gateway of that name exists already.
    case gatewayExists(String)
    /// No gateway of that name.
    case unknownGateway(String)
    /// The thing is bound to another gateway.
    case thingBoundElsewhere(thing: String, gateway: String)
    /// The name breaks the naming rule.
    case invalidName(String)

    package var description: String {
        switch self {
        case .gatewayExists(let name): "gateway '\(name)' already exists"
        case .unknownGateway(let name): "no gateway named '\(name)'"
        case .thingBoundElsewhere(let thing, let gateway): "thing '\(thing)' is bound to gateway '\(gateway)'"
        case .invalidName(let name):
            "invalid name '\(name)': use 1 to 128 characters from a-z, A-Z, 0-9, ':', '_', '-'"
        }
    }
}

/// Gateways, their tokens and their devices. Implementations: `InMemoryIdentityRegistry` (SignalboxTesting) and the
/// SQLite store.
package protocol IdentityRegistry: Sendable {
    /// Adds a gateway.
    ///
    /// - Throws: ``IdentityError/gatewayExists(_:)``, ``IdentityError/invalidName(_:)``.
    func addGateway(_ gateway: Gateway) async throws
    /// Every gateway, by name.
    func gateways() async throws -> [Gateway]
    /// Removes a gateway with its tokens and device bindings; false if there was none.
    func removeGateway(_ name: String) async throws -> Bool

    /// Stores a token.
    ///
    /// - Throws: ``IdentityError/unknownGateway(_:)`` for a gateway token of an unknown gateway.
    func addToken(_ token: TokenRecord) async throws
    /// The token with this id.
    func token(id: String) async throws -> TokenRecord?
    /// Every token, by id.
    func tokens() async throws -> [TokenRecord]
    /// Revokes a token; false if there was none.
    func removeToken(id: String) async throws -> Bool
    /// Whether any admin token exists (auth is configured).
    func hasAdminToken() async throws -> Bool

    /// Binds `thing` to `gateway`; binding it again to the same gateway is a no-op.
    ///
    /// - Throws: ``IdentityError/unknownGateway(_:)``, ``IdentityError/thingBoundElsewhere(thing:gateway:)``.
    func bind(thing: String, to gateway: String) async throws
    /// Unbinds `thing`; false if it was not bound.
    func unbind(thing: String) async throws -> Bool
    /// The gateway `thing` is bound to.
    func gateway(of thing: String) async throws -> String?
    /// The things bound to `gateway`, sorted.
    func things(of gateway: String) async throws -> [String]
}
