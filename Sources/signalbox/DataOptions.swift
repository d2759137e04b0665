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
    print("  secret access key: \(issued.secret)")
    print("Store it now: Signalbox keeps only a hash of it and cannot show it again.")
    fflush(nil)  // before any log line, even when standard output is a pipe
}
