import Foundation
import SignalboxCore
import Testing

@testable import SignalboxServer

struct TokenVaultTests {
    @Test func issuedTokensHaveTheDocumentedShape() throws {
        let vault = try TokenVault(keyBytes: TestServer.key)
        let issued = try vault.issue(role: .gateway, gateway: "gw", createdAt: 42)
        #expect(issued.id.count == 20 && issued.id.hasPrefix("SBX"))
        #expect(issued.id.dropFirst(3).allSatisfy { "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".contains($0) })
        #expect(issued.secret.count == 40)
        #expect(issued.secret.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        #expect(issued.token == "\(issued.id).\(issued.secret)")
        #expect(issued.record.gateway == "gw" && issued.record.createdAt == 42 && issued.record.role == .gateway)
        #expect(!issued.record.sealedSecret.contains(subsequence: Array(issued.secret.utf8)))
        #expect(vault.verify(secret: issued.secret, against: issued.record))
        #expect(!vault.verify(secret: issued.secret + "x", against: issued.record))
        #expect(vault.unseal(issued.record) == issued.secret)
        let other = try vault.issue(role: .admin, gateway: nil, createdAt: 0)
        #expect(other.id != issued.id && other.secret != issued.secret)
    }

    @Test func anotherKeyCannotUnseal() throws {
        let issued = try TokenVault(keyBytes: TestServer.key).issue(role: .admin, gateway: nil, createdAt: 0)
        let stranger = try TokenVault(keyBytes: [UInt8](repeating: 9, count: 32))
        #expect(stranger.unseal(issued.record) == nil)
        var moved = issued.record
        moved.id = "SBXAAAAAAAAAAAAAAAAA"  // the id is authenticated data
        #expect(try TokenVault(keyBytes: TestServer.key).unseal(moved) == nil)
        #expect(throws: TokenVault.VaultError.self) { try TokenVault(keyBytes: [1, 2, 3]) }
    }

    @Test func keyFileIsCreatedPrivateAndReused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sbx-vault-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try TokenVault(dataDirectory: directory.path)
        let keyPath = directory.appendingPathComponent(TokenVault.keyFileName).path
        let attributes = try FileManager.default.attributesOfItem(atPath: keyPath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect((attributes[.size] as? NSNumber)?.intValue == 32)
        let issued = try first.issue(role: .admin, gateway: nil, createdAt: 0)
        let reopened = try TokenVault(dataDirectory: directory.path)
        #expect(reopened.unseal(issued.record) == issued.secret)
    }

    @Test func constantTimeComparison() {
        #expect(constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEqual([1, 2], [1, 2, 3]))
    }
}

extension Array where Element: Equatable {
    fileprivate func contains(subsequence: [Element]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { Array(self[$0..<$0 + subsequence.count]) == subsequence }
    }
}
