import Foundation
import GRDB
import SignalboxCore

/// An ``IdentityRegistry`` in the data directory's SQLite database: gateways, their tokens and
/// their devices, with tokens and device bindings removed along with their gateway.
///
/// For example:
/// ```swift
/// let registry = SQLiteIdentityRegistry(database: try AppDatabase(directory: "./data"))
/// try await registry.addGateway(Gateway(name: "site-1", createdAt: 1_732_200_000))
/// try await registry.bind(thing: "fridge-7", to: "site-1")
/// ```
package final class SQLiteIdentityRegistry: IdentityRegistry {
    private let pool: DatabasePool

    /// Creates the registry over `database`.
    package init(database: AppDatabase) {
        self.pool = database.pool
    }

    package func addGateway(_ gateway: Gateway) async throws {
        guard ShadowKey.isValid(gateway.name, allowingDollar: false, maxLength: 128) else {
            throw IdentityError.invalidName(gateway.name)
        }
        try await pool.write { db in
            guard try !Self.gatewayExists(gateway.name, db) else { throw IdentityError.gatewayExists(gateway.name) }
            try db.execute(
                sql: "INSERT INTO gateways (name, created_at) VALUES (?, ?)",
                arguments: [gateway.name, gateway.createdAt])
        }
    }

    package func gateways() async throws -> [Gateway] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, created_at FROM gateways ORDER BY name").map { row in
                Gateway(name: row[0], createdAt: row[1])
            }
        }
    }

    package func removeGateway(_ name: String) async throws -> Bool {
        try await pool.write { db in
            // Tokens and device bindings go with it (ON DELETE CASCADE).
            try db.execute(sql: "DELETE FROM gateways WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    package func addToken(_ token: TokenRecord) async throws {
        try await pool.write { db in
            if let gateway = token.gateway, try !Self.gatewayExists(gateway, db) {
                throw IdentityError.unknownGateway(gateway)
            }
            try db.execute(
                sql: """
                    INSERT INTO tokens (id, role, gateway, secret_hash, sealed_secret, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET
                        role = excluded.role, gateway = excluded.gateway, secret_hash = excluded.secret_hash,
                        sealed_secret = excluded.sealed_secret, created_at = excluded.created_at
                    """,
                arguments: [
                    token.id, token.role.rawValue, token.gateway, Data(token.secretHash), Data(token.sealedSecret),
                    token.createdAt,
                ])
        }
    }

    package func token(id: String) async throws -> TokenRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "\(Self.tokenColumns) WHERE id = ?", arguments: [id]).map(Self.decodeToken)
        }
    }

    package func tokens() async throws -> [TokenRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "\(Self.tokenColumns) ORDER BY id").map(Self.decodeToken)
        }
    }

    package func removeToken(id: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM tokens WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    package func hasAdminToken() async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM tokens WHERE role = 'admin')") ?? false
        }
    }

    package func bind(thing: String, to gateway: String) async throws {
        try await pool.write { db in
            guard try Self.gatewayExists(gateway, db) else { throw IdentityError.unknownGateway(gateway) }
            if let current = try String.fetchOne(
                db, sql: "SELECT gateway FROM devices WHERE thing = ?", arguments: [thing])
            {
                guard current == gateway else {
                    throw IdentityError.thingBoundElsewhere(thing: thing, gateway: current)
                }
                return
            }
            try db.execute(sql: "INSERT INTO devices (thing, gateway) VALUES (?, ?)", arguments: [thing, gateway])
        }
    }

    package func unbind(thing: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM devices WHERE thing = ?", arguments: [thing])
            return db.changesCount > 0
        }
    }

    package func gateway(of thing: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT gateway FROM devices WHERE thing = ?", arguments: [thing])
        }
    }

    package func things(of gateway: String) async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT thing FROM devices WHERE gateway = ? ORDER BY thing", arguments: [gateway])
        }
    }
}

extension SQLiteIdentityRegistry {
    private static let tokenColumns = "SELECT id, role, gateway, secret_hash, sealed_secret, created_at FROM tokens"

    private static func gatewayExists(_ name: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM gateways WHERE name = ?)", arguments: [name]) ?? false
    }

    private static func decodeToken(_ row: Row) throws -> TokenRecord {
        let roleName: String = row[1]
        guard let role = TokenRole(rawValue: roleName) else {
            throw StoreError(.corruptRecord, "a stored token has an unknown role: revoke it and create a new one")
        }
        let secretHash: Data = row[3]
        let sealedSecret: Data = row[4]
        return TokenRecord(
            id: row[0], role: role, gateway: row[2], secretHash: Array(secretHash), sealedSecret: Array(sealedSecret),
            createdAt: row[5])
    }
}
