import ArgumentParser
import SignalboxCore
import SignalboxSQL
import SignalboxStore

/// `signalbox tokens …`: API tokens.
struct Tokens: AsyncParsableCommand {
    /// The command's help and subcommands.
    static let configuration = CommandConfiguration(
        abstract: "Manage API tokens (admin tokens, and further tokens for gateways).",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    /// `signalbox tokens create --admin | --gateway NAME`.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it (shown once).")
        @OptionGroup var options: DataOptions
        @Flag(help: "An admin token: may do everything.") var admin = false
        @Option(help: "A token for this gateway: its devices' shadows and its sync stream.") var gateway: String?
        @Flag(help: "Keep only a hash of the secret: a bearer token that cannot sign AWS SigV4 requests.")
        var bearerOnly = false

        func validate() throws {
            guard admin != (gateway != nil) else {
                throw ValidationError("give exactly one of --admin, --gateway NAME")
            }
        }

        func run() async throws {
            let registry = try options.openRegistry()
            let vault = try options.openVault()
            let issued = try vault.issue(
                role: admin ? .admin : .gateway, gateway: gateway, createdAt: WallClock.system.seconds(),
                bearerOnly: bearerOnly)
            do {
                try await registry.addToken(issued.record)
            } catch let error as IdentityError {
                throw ValidationError(error.description)
            }
            printIssued(
                issued, heading: admin ? "Created an admin token." : "Created a token for gateway '\(gateway ?? "")'.")
        }
    }

    /// `signalbox tokens list`: ids and roles, never secrets.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List tokens (ids, roles and whether SigV4 works; secrets are never shown).")
        @OptionGroup var options: DataOptions

        func run() async throws {
            let registry = try options.openRegistry()
            for token in try await registry.tokens() {
                let kind = token.sealedSecret.isEmpty ? "bearer-only" : "bearer+sigv4"
                print("\(token.id)\t\(token.role.rawValue)\t\(token.gateway ?? "-")\t\(kind)")
            }
        }
    }

    /// `signalbox tokens revoke ID`.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The token's id (its access key id).") var id: String

        func run() async throws {
            let registry = try options.openRegistry()
            guard try await registry.removeToken(id: id) else { throw ValidationError("no token with id '\(id)'") }
            print("Revoked token \(id).")
        }
    }
}
