import Foundation
import GRDB

/// The data directory's SQLite database: one WAL-mode file, `signalbox.sqlite`, read by a pool of
/// connections and written by one, with the schema kept up to date by migrations.
///
/// For example:
/// ```swift
/// let database = try AppDatabase(directory: "./data", durability: .full)
/// let shadows = SQLiteShadowStorage(database: database)
/// ```
package struct AppDatabase: Sendable {
    /// How hard a commit tries to reach the disk.
    package enum Durability: String, Sendable, Hashable, CaseIterable {
        /// `synchronous=NORMAL`: committed data survives a process crash or kill; the last commits
        /// may be lost on power loss or an OS crash. The default.
        case normal
        /// `synchronous=FULL`: every commit is synced to the disk, so it survives power loss too.
        case full
    }

    /// The name of the database file inside the data directory.
    package static let fileName = "signalbox.sqlite"

    /// The connection pool: one writer, concurrent readers.
    package let pool: DatabasePool
    /// The durability the connections were opened with.
    package let durability: Durability
    /// The database file.
    package let path: String

    /// The path of `fileName` in the data directory `directory`, which is created with its parents
    /// if missing. The directory is made private to its owner (mode 0700) and every file in it (the
    /// databases, their WAL and shared-memory files, `secret.key`) readable and writable by its owner
    /// only (0600): together they hold every token's secret hash and sealed copy.
    ///
    /// - Throws: ``StoreError`` when the directory can't be created or its modes can't be set.
    package static func path(of fileName: String, in directory: String) throws -> String {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError(
                .cannotOpen,
                "cannot create the data directory '\(directory)': check the path and its permissions",
                cause: error)
        }
        try makePrivate(directory)
        return URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
    }

    /// The files Signalbox keeps in a data directory, by name or name prefix (a database's `-wal`,
    /// `-shm` and `-journal` files share its name): the only ones ``makePrivate(_:)`` changes.
    static let ownFiles = (
        prefixes: [fileName, SQLiteJournal.fileName, SQLiteRecordStorage.fileName],
        names: ["secret.key", "server.json"]  // the token key and the running server's address
    )

    /// Sets `directory` to mode 0700 and each of Signalbox's own regular files in it to 0600, where
    /// they are looser; other files are left alone.
    ///
    /// - Throws: ``StoreError`` when a mode can't be set.
    package static func makePrivate(_ directory: String) throws {
        func restrict(_ path: String, to mode: mode_t) throws {
            var status = stat()
            guard stat(path, &status) == 0 else { return }
            let isDirectory = (status.st_mode & S_IFMT) == S_IFDIR
            let isFile = (status.st_mode & S_IFMT) == S_IFREG
            guard isDirectory || isFile, status.st_mode & 0o777 != mode else { return }
            guard chmod(path, mode) == 0 else {
                throw StoreError(
                    .cannotOpen, "cannot make '\(path)' private (mode \(String(mode, radix: 8))): check its owner")
            }
        }
        try restrict(directory, to: 0o700)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where ownFiles.names.contains(name) || ownFiles.prefixes.contains(where: name.hasPrefix) {
            try restrict(URL(fileURLWithPath: directory).appendingPathComponent(name).path, to: 0o600)
        }
    }

    /// Opens (creating if needed) the database in `directory` and migrates it to the current schema.
    ///
    /// - Parameters:
    ///   - directory: The data directory; created with its parents if missing.
    ///   - durability: How hard a commit tries to reach the disk.
    /// - Throws: ``StoreError`` when the directory can't be created, or a `DatabaseError` when the
    ///   database can't be opened or migrated.
    package init(directory: String, durability: Durability = .normal) throws {
        let path = try AppDatabase.path(of: Self.fileName, in: directory)
        self.path = path
        self.durability = durability
        self.pool = try DatabasePool(path: path, configuration: Self.configuration(durability: durability))
        try Self.migrator.migrate(pool)
        // SQLite created the file, its WAL and shared-memory files under the process's umask.
        try Self.makePrivate((path as NSString).deletingLastPathComponent)
    }

    /// Closes every connection. Pending writes must have finished; later accesses fail.
    package func close() throws {
        try pool.close()
    }

    /// The connection settings for `durability`.
    static func configuration(durability: Durability) -> Configuration {
        var configuration = Configuration.signalbox(
            label: "signalbox", durability: durability, readers: 8,
            pragmas: [
                // Map the file for reads: random lookups in a large store skip a copy per page.
                "PRAGMA mmap_size = 268435456",
                // Checkpoint every ~40 MB of WAL instead of 4 MB: fewer checkpoints (and fsyncs) stall the
                // writer, while the WAL stays short enough for fast page lookups (measured: 1,000 and
                // 1,000,000 pages are both slower for random updates).
                "PRAGMA wal_autocheckpoint = 10000",
            ])
        configuration.foreignKeysEnabled = true
        return configuration
    }

    /// The schema's history, oldest first. Never edit a shipped migration: append a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // One row per shadow; shadow_name '' is the classic shadow. A deleted shadow stays as a
            // tombstone (deleted = 1) that keeps its version for a re-creation.
            try db.execute(
                sql: """
                    CREATE TABLE shadows (
                        thing TEXT NOT NULL,
                        shadow_name TEXT NOT NULL DEFAULT '',
                        state BLOB NOT NULL,
                        metadata BLOB NOT NULL,
                        version INTEGER NOT NULL,
                        timestamp INTEGER NOT NULL,
                        deleted INTEGER NOT NULL,
                        PRIMARY KEY (thing, shadow_name)
                    ) WITHOUT ROWID;

                    CREATE TABLE shadow_changes (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        thing TEXT NOT NULL,
                        shadow_name TEXT NOT NULL,
                        kind TEXT NOT NULL CHECK (kind IN ('updated', 'deleted')),
                        version INTEGER NOT NULL,
                        desired_changed INTEGER NOT NULL,
                        timestamp INTEGER NOT NULL
                    );
                    -- Only the changes gateway sync reads: reported-only updates, the common case,
                    -- don't pay for this index.
                    CREATE INDEX shadow_changes_sync ON shadow_changes (thing, sequence)
                        WHERE desired_changed = 1 OR kind = 'deleted';

                    CREATE TABLE gateways (
                        name TEXT PRIMARY KEY NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE tokens (
                        id TEXT PRIMARY KEY NOT NULL,
                        role TEXT NOT NULL,
                        gateway TEXT REFERENCES gateways (name) ON DELETE CASCADE,
                        secret_hash BLOB NOT NULL,
                        sealed_secret BLOB NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    CREATE INDEX tokens_gateway ON tokens (gateway);
                    CREATE TABLE devices (
                        thing TEXT PRIMARY KEY NOT NULL,
                        gateway TEXT NOT NULL REFERENCES gateways (name) ON DELETE CASCADE
                    );
                    CREATE INDEX devices_gateway ON devices (gateway);
                    """)
        }
        migrator.registerMigration("v2") { db in
            // Invocations that failed for good. AUTOINCREMENT: a removed letter's id is never reused,
            // so `list(after:)` cursors stay valid. action_index is NULL for the error action.
            try db.execute(
                sql: """
                    CREATE TABLE dead_letters (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        created_at INTEGER NOT NULL,
                        rule TEXT NOT NULL,
                        rule_set_version INTEGER NOT NULL,
                        action_index INTEGER,
                        function TEXT NOT NULL,
                        idempotency_key TEXT NOT NULL UNIQUE,
                        message_id INTEGER NOT NULL,
                        topic TEXT NOT NULL,
                        payload BLOB NOT NULL,
                        received_at INTEGER NOT NULL,
                        client_id TEXT,
                        gateway TEXT,
                        device TEXT NOT NULL,
                        error TEXT NOT NULL,
                        attempts INTEGER NOT NULL
                    );

                    -- Throttle windows kept across restarts; `action` is "{rule}/{action index}".
                    CREATE TABLE throttle_windows (
                        action TEXT NOT NULL,
                        key TEXT NOT NULL,
                        started_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL,
                        idempotency_key TEXT NOT NULL,
                        PRIMARY KEY (action, key)
                    ) WITHOUT ROWID;
                    CREATE INDEX throttle_windows_expiry ON throttle_windows (expires_at);
                    """)
        }
        migrator.registerMigration("v3") { db in
            // How far in shadow_changes Signalbox's own consumers have got (the MQTT gateway sync stream).
            try db.execute(
                sql: """
                    CREATE TABLE stream_cursors (
                        name TEXT PRIMARY KEY NOT NULL,
                        cursor INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v4-rule-set-versions") { db in
            // Every rule set that became active: the version dead letters record names the file's SHA-256.
            try db.execute(
                sql: """
                    CREATE TABLE rule_set_versions (
                        version INTEGER PRIMARY KEY NOT NULL,
                        digest TEXT NOT NULL,
                        path TEXT NOT NULL,
                        loaded_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v4-device-activity") { db in
            // When each device was last seen (journal time) and whether it was reported silent, so that
            // device silence holds across restarts.
            try db.execute(
                sql: """
                    CREATE TABLE device_activity (
                        device TEXT PRIMARY KEY NOT NULL,
                        last_seen INTEGER NOT NULL,
                        silent INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        return migrator
    }
}

extension Configuration {
    /// The settings every Signalbox database file shares: its label, a 5-second busy timeout,
    /// `readers` reader connections and `synchronous` by durability; then the file's own `pragmas`.
    /// `pragmas` apply to every connection, `writerPragmas` to the writer only (a large page cache:
    /// a reader's would be one more of the same size, for scans that never come back to a page).
    static func signalbox(
        label: String, durability: AppDatabase.Durability, readers: Int, pragmas: [String],
        writerPragmas: [String] = []
    ) -> Configuration {
        var configuration = Configuration()
        configuration.label = label
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = readers
        configuration.prepareDatabase { db in
            switch durability {
            case .normal: try db.execute(sql: "PRAGMA synchronous = NORMAL")
            case .full: try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            for pragma in pragmas { try db.execute(sql: pragma) }
            if !db.configuration.readonly {
                for pragma in writerPragmas { try db.execute(sql: pragma) }
            }
        }
        return configuration
    }
}
