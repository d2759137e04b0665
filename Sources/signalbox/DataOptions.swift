import ArgumentParser
import SignalboxCore
import SignalboxServer
import SignalboxStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The data directory option shared by the commands that open the store.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "The data directory (SQLite database and secret key).")
    /// The data directory.
    var data: String = "./data"

    @Option(name: .long, help: "normal (survives a killed process) or full (also survives power loss).")
    /// How hard commits try to reach the disk.
    var durability: AppDatabase.Durability = .normal

    /// Opens the store's database.
    func openDatabase() throws -> AppDatabase {
        do {
            return try AppDatabase(directory: data, durability: durability)
        } catch {
            throw ValidationError("cannot open the data directory '\(data)': \(error)")
        }
    }

    /// Opens the gateway, token and device registry.
    func openRegistry() throws -> SQLiteIdentityRegistry {
        SQLiteIdentityRegistry(database: try openDatabase())
    }

    /// Opens the token vault (creating the data directory's secret key on first use).
    func openVault() throws -> TokenVault {
        do {
            return try TokenVault(dataDirectory: data)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

extension AppDatabase.Durability: ExpressibleByArgument {}

/// Prints a freshly issued token; the secret is never shown again.
func printIssued(_ issued: TokenVault.IssuedToken, heading: String) {
    print(heading)
    print("  token:             \(issued.token)")
    print("  access key id:     \(issued.id)")
    if issued.record.sealedSecret.isEmpty {
        print("Store it now: it is shown only once. It is bearer-only: Signalbox keeps just a SHA-256 hash of")
        print("its secret, so it cannot sign AWS SigV4 requests.")
    } else {
        print("  secret access key: \(issued.secret)")
        print("Store it now: it is shown only once. Signalbox keeps a SHA-256 hash of the secret (for bearer")
        print("requests) and a copy encrypted with the data directory's secret.key (AWS SigV4 needs the secret")
        print("itself): whoever can read the data directory can recover it. --bearer-only keeps just the hash.")
    }
    fflush(nil)  // before any log line, even when standard output is a pipe
}
