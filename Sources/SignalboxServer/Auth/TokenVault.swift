import Crypto
import Foundation
import SignalboxCore

/// Mints API tokens and checks their secrets.
///
/// A token has a public id (`SBX` + 17 base32 characters, also the SigV4 access key id) and a secret
/// of 40 URL-safe characters (240 random bits); the bearer form is `<id>.<secret>`. For each token the
/// vault keeps the secret's SHA-256 (which checks bearer tokens) and, unless the token is bearer-only,
/// a copy of the secret sealed with AES-GCM under the data directory's key `secret.key` (checking an
/// AWS SigV4 signature needs the secret itself). Whoever can read both the database and `secret.key`
/// can therefore recover the secrets of tokens that are not bearer-only: the data directory is 0700
/// and its files 0600.
///
/// For example:
/// ```swift
/// let vault = try TokenVault(dataDirectory: "/var/lib/signalbox")
/// let issued = try vault.issue(role: .admin, gateway: nil, createdAt: 0)
/// print(issued.token)   // shown once
/// ```
package struct TokenVault: Sendable {
    /// A freshly issued token: the record to store, and the secret to show once.
    package struct IssuedToken: Sendable {
        /// What the registry stores.
        package var record: TokenRecord
        /// The bearer token, `<id>.<secret>`.
        package var token: String
        /// The public id, also the SigV4 access key id.
        package var id: String
        /// The secret, also the SigV4 secret access key.
        package var secret: String
    }

    /// Why the vault cannot be opened.
    package struct VaultError: Error, Sendable, CustomStringConvertible {
        /// What went wrong and how to fix it.
        package var description: String
    }

    /// Name of the key file inside the data directory.
    package static let keyFileName = "secret.key"
    private static let base32 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
    private static let urlSafe = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The raw key; `SymmetricKey` is not `Sendable`, so one is made per use.
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// Creates a vault from a raw 32-byte key (tests).
    package init(keyBytes: [UInt8]) throws(VaultError) {
        guard keyBytes.count == 32 else {
            throw VaultError(description: "the token key must be 32 bytes, got \(keyBytes.count)")
        }
        self.keyBytes = keyBytes
    }

    /// Opens the vault of `dataDirectory`, creating the directory and its key file
    /// (`secret.key`, 32 random bytes, mode 0600) when missing.
    package init(dataDirectory: String) throws(VaultError) {
        let path = (dataDirectory as NSString).appendingPathComponent(Self.keyFileName)
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            do {
                try manager.createDirectory(
                    atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw VaultError(description: "cannot create the data directory '\(dataDirectory)': \(error)")
            }
            var bytes = [UInt8](repeating: 0, count: 32)
            var generator = SystemRandomNumberGenerator()
            for index in bytes.indices { bytes[index] = generator.next() }
            try Self.createKeyFile(path, bytes: bytes)
        }
        guard let data = manager.contents(atPath: path) else {
            throw VaultError(description: "cannot read the token key file '\(path)'")
        }
        guard data.count == 32 else {
            throw VaultError(
                description: "the token key file '\(path)' must hold exactly 32 bytes; restore it from a backup")
        }
        try self.init(keyBytes: Array(data))
    }

    private static func createKeyFile(_ path: String, bytes: [UInt8]) throws(VaultError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw VaultError(description: "cannot create the token key file '\(path)' (errno \(errno))")
        }
        defer { close(descriptor) }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(descriptor) == 0 else {
            throw VaultError(description: "cannot write the token key file '\(path)' (errno \(errno))")
        }
    }

    /// Mints a token.
    ///
    /// - Parameters:
    ///   - role: What the token may do.
    ///   - gateway: The gateway of a gateway token.
    ///   - createdAt: Seconds since the Unix epoch.
    ///   - bearerOnly: Keep only the secret's hash: the token works as a bearer token and not for SigV4.
    package func issue(role: TokenRole, gateway: String?, createdAt: Int64, bearerOnly: Bool = false) throws
        -> IssuedToken
    {
        var generator = SystemRandomNumberGenerator()
        let id = "SBX" + String(decoding: (0..<17).map { _ in Self.base32[Int(generator.next() % 32)] }, as: UTF8.self)
        let secret = String(decoding: (0..<40).map { _ in Self.urlSafe[Int(generator.next() % 64)] }, as: UTF8.self)
        var record = try record(id: id, secret: secret, role: role, gateway: gateway, createdAt: createdAt)
        if bearerOnly { record.sealedSecret = [] }
        return IssuedToken(record: record, token: "\(id).\(secret)", id: id, secret: secret)
    }

    /// The record of a token whose id and secret are given (imports and tests; ``issue(role:gateway:createdAt:)``
    /// mints fresh ones).
    package func record(id: String, secret: String, role: TokenRole, gateway: String?, createdAt: Int64) throws
        -> TokenRecord
    {
        let sealed = try AES.GCM.seal(Array(secret.utf8), using: key, authenticating: Array(id.utf8))
        guard let combined = sealed.combined else {
            throw VaultError(description: "AES-GCM produced no combined box")  // only for non-12-byte nonces
        }
        return TokenRecord(
            id: id, role: role, gateway: gateway, secretHash: Self.hash(secret), sealedSecret: Array(combined),
            createdAt: createdAt)
    }

    /// The secret sealed in `record`, or `nil` when the token is bearer-only, or its secret was sealed
    /// with another key or tampered with.
    package func unseal(_ record: TokenRecord) -> String? {
        guard let box = try? AES.GCM.SealedBox(combined: record.sealedSecret),
            let plain = try? AES.GCM.open(box, using: key, authenticating: Array(record.id.utf8))
        else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }

    /// Whether `secret` is `record`'s, compared in constant time.
    package func verify(secret: String, against record: TokenRecord) -> Bool {
        constantTimeEqual(Self.hash(secret), record.secretHash)
    }

    /// SHA-256 of a secret.
    package static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }

    /// Splits a bearer token `<id>.<secret>`.
    package static func parse(bearer token: Substring) -> (id: Substring, secret: Substring)? {
        guard let dot = token.firstIndex(of: "."), dot != token.startIndex else { return nil }
        let secret = token[token.index(after: dot)...]
        guard !secret.isEmpty else { return nil }
        return (token[..<dot], secret)
    }
}

/// Compares two byte strings in time that depends only on their lengths.
package func constantTimeEqual(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
    return difference == 0
}
