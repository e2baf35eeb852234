<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
<context>
    <name>Application</name>
    <message>
        <source>Convert this model?</source>
        <translation>Dieses Modell umwandeln?</translation>
    </message>
    <message>
        <source>{name} is a Hugging Face checkpoint. Enclave checks it and converts it once for this computer ({target}: {reason}) into
{output}

This can take a while; you can cancel at any time.</source>
        <translation>{name} ist ein Hugging-Face-Checkpoint. Enclave prüft ihn und wandelt ihn einmalig für diesen Computer um ({target}: {reason}), nach
{output}

Das kann eine Weile dauern; Sie können jederzeit abbrechen.</translation>
    </message>
</context>
<context>
    <name>AttachmentChip</name>
    <message>
        <source>the file is no longer there</source>
        <translation>die Datei ist nicht mehr da</translation>
    </message>
    <message>
        <source>the file cannot be opened</source>
        <translation>die Datei lässt sich nicht öffnen</translation>
    </message>
    <message>
        <source>larger than the limit in Preferences</source>
        <translation>größer als die Grenze in den Einstellungen</translation>
    </message>
    <message>
        <source>more pages than the limit in Preferences</source>
        <translation>mehr Seiten als die Grenze in den Einstellungen</translation>
    </message>
    <message>
        <source>this kind of file is not supported</source>
        <translation>diese Art Datei wird nicht unterstützt</translation>
    </message>
    <message>
        <source>no readable text in it</source>
        <translation>kein lesbarer Text darin</translation>
    </message>
    <message>
        <source>protected by a password</source>
        <translation>durch ein Passwort geschützt</translation>
    </message>
    <message>
        <source>damaged, or not the kind of file its name says</source>
        <translation>beschädigt oder nicht die Art Datei, die ihr Name verspricht</translation>
    </message>
    <message>
        <source>refused: it unpacks to far more than its size</source>
        <translation>abgelehnt: entpackt ergibt sie weit mehr als ihre Größe</translation>
    </message>
    <message>
        <source>a scan without text (no OCR in Enclave)</source>
        <translation>ein Scan ohne Text (Enclave hat keine Texterkennung)</translation>
    </message>
    <message>
        <source>empty</source>
        <translation>leer</translation>
    </message>
    <message>
        <source>took longer than the time limit in Preferences</source>
        <translation>dauerte länger als die Zeitgrenze in den Einstellungen</translation>
    </message>
    <message>
        <source>needs more memory than the limit in Preferences</source>
        <translation>braucht mehr Speicher als die Grenze in den Einstellungen</translation>
    </message>
    <message>
        <source>the reader stopped unexpectedly</source>
        <translation>das Leseprogramm wurde unerwartet beendet</translation>
    </message>
    <message>
        <source>reading was cancelled</source>
        <translation>das Lesen wurde abgebrochen</translation>
    </message>
    <message>
        <source>could not be read</source>
        <translation>konnte nicht gelesen werden</translation>
    </message>
    <message>
        <source>reading {done}/{total}</source>
        <translation>wird gelesen {done}/{total}</translation>
    </message>
    <message>
        <source>reading…</source>
        <translation>wird gelesen …</translation>
    </message>
    <message>
        <source>{count} tokens</source>
        <translation>{count} Tokens</translation>
    </message>
    <message>
        <source>Remove {name} from this chat</source>
        <translation>{name} aus diesem Chat entfernen</translation>
    </message>
    <message>
        <source>Remove {name}</source>
        <translation>{name} entfernen</translation>
    </message>
</context>
<context>
    <name>Attachments</name>
    <message>
        <source>Not saved: {reason}</source>
        <translation>Nicht gespeichert: {reason}</translation>
    </message>
    <message>
        <source>This attachment could not be read back from the history.</source>
        <translation>Dieser Anhang konnte nicht aus dem Verlauf gelesen werden.</translation>
    </message>
</context>
<context>
    <name>Backend</name>
    <message>
        <source>Enclave will not chat with {name}: {reason}</source>
        <translation>Enclave chattet nicht mit {name}: {reason}</translation>
    </message>
    <message>
        <source>Preparing the chat</source>
        <translation>Der Chat wird vorbereitet</translation>
    </message>
    <message>
        <source>an NVIDIA GPU was found</source>
        <translation>eine NVIDIA-GPU wurde gefunden</translation>
    </message>
    <message>
        <source>a DirectML GPU was found</source>
        <translation>eine DirectML-GPU wurde gefunden</translation>
    </message>
    <message>
        <source>no supported GPU; this computer&apos;s {ram} GB of memory holds the lossless CPU package (a chat with it needs about {need} GB)</source>
        <translation>keine unterstützte GPU; die {ram} GB Arbeitsspeicher dieses Computers fassen das verlustfreie CPU-Paket (ein Chat damit braucht etwa {need} GB)</translation>
    </message>
    <message>
        <source>no supported GPU; the lossless CPU package needs about {need} GB of memory and this computer has {ram} GB, so the smaller one (about {small} GB)</source>
        <translation>keine unterstützte GPU; das verlustfreie CPU-Paket braucht etwa {need} GB Arbeitsspeicher und dieser Computer hat {ram} GB, daher das kleinere (etwa {small} GB)</translation>
    </message>
    <message>
        <source>; with {ram} GB it runs at full speed from a memory-mapped copy (about {copy} GB of memory), which Enclave offers to prepare when the model loads and which takes another {disk} GB of disk</source>
        <translation>; mit {ram} GB läuft es mit voller Geschwindigkeit aus einer speicherabgebildeten Kopie (etwa {copy} GB Arbeitsspeicher), deren Vorbereitung Enclave beim Laden des Modells anbietet und die weitere {disk} GB auf der Festplatte belegt</translation>
    </message>
    <message>
        <source>; this target suits {advice}</source>
        <translation>; dieses Ziel eignet sich für {advice}</translation>
    </message>
</context>
<context>
    <name>ChatSettingsForm</name>
    <message>
        <source>System prompt</source>
        <translation>Systemanweisung</translation>
    </message>
    <message>
        <source>e.g. Answer as a careful contracts lawyer. Cite clauses.</source>
        <translation>z. B. Antworte als sorgfältige Vertragsjuristin. Zitiere Klauseln.</translation>
    </message>
    <message>
        <source>Reasoning effort</source>
        <translation>Denkaufwand</translation>
    </message>
    <message>
        <source>0 always picks the most likely token</source>
        <translation>0 wählt immer das wahrscheinlichste Token</translation>
    </message>
    <message>
        <source>Sample only from the smallest set of tokens whose probability adds up to this</source>
        <translation>Nur aus der kleinsten Menge von Tokens wählen, deren Wahrscheinlichkeit zusammen diesen Wert erreicht</translation>
    </message>
    <message>
        <source>Sample only from this many most likely tokens</source>
        <translation>Nur aus so vielen der wahrscheinlichsten Tokens wählen</translation>
    </message>
    <message>
        <source>off</source>
        <translation>aus</translation>
    </message>
    <message>
        <source>Drop tokens less likely than this fraction of the best one</source>
        <translation>Tokens verwerfen, die weniger wahrscheinlich sind als dieser Anteil des besten</translation>
    </message>
    <message>
        <source>Discourage repeating tokens (1 = off)</source>
        <translation>Wiederholte Tokens unwahrscheinlicher machen (1 = aus)</translation>
    </message>
    <message>
        <source>The longest reply, in tokens</source>
        <translation>Die längste Antwort, in Tokens</translation>
    </message>
    <message>
        <source>Fixed seed</source>
        <translation>Fester Startwert</translation>
    </message>
    <message>
        <source>The same seed and settings give the same reply</source>
        <translation>Gleicher Startwert und gleiche Einstellungen ergeben dieselbe Antwort</translation>
    </message>
    <message>
        <source>The random seed</source>
        <translation>Der Startwert des Zufalls</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>Temperatur</translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <source>Top-k</source>
        <translation>Top-k</translation>
    </message>
    <message>
        <source>Min-p</source>
        <translation>Min-p</translation>
    </message>
    <message>
        <source>Repetition penalty</source>
        <translation>Wiederholungsstrafe</translation>
    </message>
    <message>
        <source>Max reply tokens</source>
        <translation>Höchstens Tokens je Antwort</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>Startwert</translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <source>Low</source>
        <translation>Niedrig</translation>
    </message>
    <message>
        <source>Medium</source>
        <translation>Mittel</translation>
    </message>
    <message>
        <source>High</source>
        <translation>Hoch</translation>
    </message>
</context>
<context>
    <name>ConversationList</name>
    <message>
        <source>Today</source>
        <translation>Heute</translation>
    </message>
    <message>
        <source>Yesterday</source>
        <translation>Gestern</translation>
    </message>
    <message>
        <source>Previous 7 days</source>
        <translation>Letzte 7 Tage</translation>
    </message>
    <message>
        <source>Previous 30 days</source>
        <translation>Letzte 30 Tage</translation>
    </message>
    <message>
        <source>Delete conversation</source>
        <translation>Unterhaltung löschen</translation>
    </message>
    <message>
        <source>Delete “{title}”? This cannot be undone.</source>
        <translation>„{title}“ löschen? Das lässt sich nicht rückgängig machen.</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Löschen</translation>
    </message>
    <message>
        <source>New title</source>
        <translation>Neuer Titel</translation>
    </message>
</context>
<context>
    <name>Conversations</name>
    <message>
        <source>Some settings of “{title}” could not be used and were reset: {names}.</source>
        <translation>Einige Einstellungen von „{title}“ waren nicht verwendbar und wurden zurückgesetzt: {names}.</translation>
    </message>
</context>
<context>
    <name>Counts</name>
    <message numerus="yes">
        <source>%n token(s)</source>
        <translation>
            <numerusform>%n Token</numerusform>
            <numerusform>%n Tokens</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>prompt: %n token(s)</source>
        <translation>
            <numerusform>Prompt: %n Token</numerusform>
            <numerusform>Prompt: %n Tokens</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n page(s)</source>
        <translation>
            <numerusform>%n Seite</numerusform>
            <numerusform>%n Seiten</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Serving; %n request(s) answered.</source>
        <translation>
            <numerusform>In Betrieb; %n Anfrage beantwortet.</numerusform>
            <numerusform>In Betrieb; %n Anfragen beantwortet.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>No source cited (%n passage(s) were given to the model).</source>
        <translation>
            <numerusform>Keine Quelle zitiert (%n Passage wurde dem Modell gegeben).</numerusform>
            <numerusform>Keine Quelle zitiert (%n Passagen wurden dem Modell gegeben).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Organization policy: %n problem(s)</source>
        <translation>
            <numerusform>Organisationsrichtlinie: %n Problem</numerusform>
            <numerusform>Organisationsrichtlinie: %n Probleme</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Deleted %n conversation(s) not used for longer than the retention period.</source>
        <translation>
            <numerusform>%n Chat gelöscht, der länger als die Aufbewahrungsfrist nicht benutzt wurde.</numerusform>
            <numerusform>%n Chats gelöscht, die länger als die Aufbewahrungsfrist nicht benutzt wurden.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Documents</name>
    <message>
        <source>{name} could not be read: {reason}</source>
        <translation>{name} konnte nicht gelesen werden: {reason}</translation>
    </message>
</context>
<context>
    <name>Engine</name>
    <message>
        <source>No model is open in Enclave.</source>
        <translation>In Enclave ist kein Modell geöffnet.</translation>
    </message>
</context>
<context>
    <name>FirstRun</name>
    <message>
        <source>Enclave runs OpenAI&apos;s gpt-oss models entirely on this computer. Nothing you type or attach leaves it.

To start, get a model once: download it (the only time Enclave goes online, and only when you press Download), or import the folder your IT department gave you (for example on a USB drive): an Enclave package, an onnxruntime-genai model folder, or the gpt-oss-20b / gpt-oss-120b checkpoint from Hugging Face. Every file is checked, and a Hugging Face checkpoint is converted once for this computer&apos;s hardware.</source>
        <translation>Enclave führt die gpt-oss-Modelle von OpenAI vollständig auf diesem Computer aus. Nichts, was Sie schreiben oder anhängen, verlässt ihn.

Holen Sie sich zu Beginn einmal ein Modell: laden Sie es herunter (das einzige Mal, dass Enclave online geht, und nur, wenn Sie auf Herunterladen drücken), oder importieren Sie den Ordner, den Ihre IT-Abteilung Ihnen gegeben hat (zum Beispiel auf einem USB-Stick): ein Enclave-Paket, einen onnxruntime-genai-Modellordner oder den Checkpoint gpt-oss-20b / gpt-oss-120b von Hugging Face. Jede Datei wird geprüft, und ein Hugging-Face-Checkpoint wird einmalig für die Hardware dieses Computers umgewandelt.</translation>
    </message>
    <message>
        <source>a GPU with {size} GB of its own memory</source>
        <translation>eine GPU mit {size} GB eigenem Speicher</translation>
    </message>
    <message>
        <source>{size} GB of RAM on a computer without one ({copied} GB once Enclave has prepared a memory-mapped copy, which takes another {disk} GB of disk)</source>
        <translation>{size} GB Arbeitsspeicher auf einem Computer ohne GPU ({copied} GB, sobald Enclave eine speicherabgebildete Kopie vorbereitet hat, die weitere {disk} GB auf der Festplatte belegt)</translation>
    </message>
    <message>
        <source>{size} GB of RAM on a computer without one</source>
        <translation>{size} GB Arbeitsspeicher auf einem Computer ohne GPU</translation>
    </message>
    <message>
        <source>&lt;b&gt;{name}&lt;/b&gt; ({repo}, {license}): {size} GB to download; needs {needs}.</source>
        <translation>&lt;b&gt;{name}&lt;/b&gt; ({repo}, {license}): {size} GB zum Herunterladen; braucht {needs}.</translation>
    </message>
    <message>
        <source>, or </source>
        <translation> oder </translation>
    </message>
    <message>
        <source>Supported models:</source>
        <translation>Unterstützte Modelle:</translation>
    </message>
</context>
<context>
    <name>History</name>
    <message>
        <source>Your history is locked, so this session&apos;s conversations are kept only until Enclave closes; unlock it from the status bar or the File menu.</source>
        <translation>Ihr Verlauf ist gesperrt, daher werden die Chats dieser Sitzung nur bis zum Schließen von Enclave aufbewahrt; entsperren Sie ihn über die Statusleiste oder das Menü Datei.</translation>
    </message>
    <message>
        <source>{reason} Even a temporary history could not be created: {error}</source>
        <translation>{reason} Nicht einmal ein vorübergehender Verlauf ließ sich anlegen: {error}</translation>
    </message>
    <message>
        <source>This session&apos;s conversations are kept only until Enclave closes.</source>
        <translation>Die Unterhaltungen dieser Sitzung bleiben nur erhalten, bis Enclave geschlossen wird.</translation>
    </message>
    <message>
        <source>The conversation history could not be opened.</source>
        <translation>Der Verlauf der Unterhaltungen konnte nicht geöffnet werden.</translation>
    </message>
    <message>
        <source>The passphrase was changed and the history encrypted again under a new key.</source>
        <translation>Die Passphrase wurde geändert und der Verlauf mit einem neuen Schlüssel neu verschlüsselt.</translation>
    </message>
    <message>
        <source>The history is now protected by your passphrase.</source>
        <translation>Der Verlauf ist jetzt durch Ihre Passphrase geschützt.</translation>
    </message>
    <message>
        <source>The history&apos;s key is now kept in the OS keyring.</source>
        <translation>Der Schlüssel des Verlaufs liegt jetzt im Schlüsselbund des Betriebssystems.</translation>
    </message>
</context>
<context>
    <name>Library</name>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Art</translation>
    </message>
    <message>
        <source>Source and revision</source>
        <translation>Quelle und Revision</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <source>Target</source>
        <translation>Ziel</translation>
    </message>
    <message>
        <source>Checked</source>
        <translation>Geprüft</translation>
    </message>
    <message>
        <source>Last used</source>
        <translation>Zuletzt verwendet</translation>
    </message>
    <message>
        <source> (used in place)</source>
        <translation> (an Ort und Stelle verwendet)</translation>
    </message>
    <message>
        <source>Verified</source>
        <translation>Geprüft</translation>
    </message>
    <message>
        <source>FAILED</source>
        <translation>FEHLGESCHLAGEN</translation>
    </message>
    <message>
        <source>Not checked</source>
        <translation>Nicht geprüft</translation>
    </message>
    <message>
        <source>package</source>
        <translation>Paket</translation>
    </message>
    <message>
        <source>checkpoint</source>
        <translation>Checkpoint</translation>
    </message>
    <message>
        <source>onnxruntime-genai folder</source>
        <translation>onnxruntime-genai-Ordner</translation>
    </message>
    <message>
        <source>never</source>
        <translation>nie</translation>
    </message>
</context>
<context>
    <name>LibraryController</name>
    <message>
        <source>Importing {name}</source>
        <translation>{name} wird importiert</translation>
    </message>
    <message>
        <source>Checking {name}</source>
        <translation>{name} wird geprüft</translation>
    </message>
    <message>
        <source>Removing {name}</source>
        <translation>{name} wird entfernt</translation>
    </message>
    <message>
        <source>Wait until “{job}” has finished, or cancel it.</source>
        <translation>Warten Sie, bis „{job}“ fertig ist, oder brechen Sie es ab.</translation>
    </message>
    <message>
        <source>{job}: cancelled. What was already fetched is kept; starting it again resumes.</source>
        <translation>{job}: abgebrochen. Was schon geladen ist, bleibt erhalten; ein neuer Start setzt fort.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Enclave chat</source>
        <translation>Enclave-Chat</translation>
    </message>
    <message>
        <source>Enclave</source>
        <translation>Enclave</translation>
    </message>
    <message>
        <source>Open a model first</source>
        <translation>Öffnen Sie zuerst ein Modell</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <source>&amp;Open model folder…</source>
        <translation>Modellordner ö&amp;ffnen …</translation>
    </message>
    <message>
        <source>&amp;Models…</source>
        <translation>&amp;Modelle …</translation>
    </message>
    <message>
        <source>&amp;Import model folder…</source>
        <translation>Modellordner &amp;importieren …</translation>
    </message>
    <message>
        <source>Connect to a &amp;remote engine…</source>
        <translation>Mit einer entfernten &amp;Engine verbinden …</translation>
    </message>
    <message>
        <source>&amp;New chat</source>
        <translation>&amp;Neuer Chat</translation>
    </message>
    <message>
        <source>&amp;Attach documents…</source>
        <translation>Dokumente &amp;anhängen …</translation>
    </message>
    <message>
        <source>&amp;Export chat as Markdown…</source>
        <translation>Chat als Markdown &amp;exportieren …</translation>
    </message>
    <message>
        <source>Export chat as &amp;JSON…</source>
        <translation>Chat als &amp;JSON exportieren …</translation>
    </message>
    <message>
        <source>&amp;Rename chat</source>
        <translation>Chat &amp;umbenennen</translation>
    </message>
    <message>
        <source>&amp;Delete chat…</source>
        <translation>Chat &amp;löschen …</translation>
    </message>
    <message>
        <source>&amp;Preferences…</source>
        <translation>&amp;Einstellungen …</translation>
    </message>
    <message>
        <source>&amp;History settings…</source>
        <translation>&amp;Verlaufseinstellungen…</translation>
    </message>
    <message>
        <source>&amp;Unlock history…</source>
        <translation>Verlauf &amp;entsperren…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <source>&amp;Conversations</source>
        <translation>&amp;Unterhaltungen</translation>
    </message>
    <message>
        <source>Chat &amp;settings</source>
        <translation>Chat-&amp;Einstellungen</translation>
    </message>
    <message>
        <source>&amp;Theme</source>
        <translation>&amp;Design</translation>
    </message>
    <message>
        <source>Same as the system</source>
        <translation>Wie das System</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>Hell</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>Dunkel</translation>
    </message>
    <message>
        <source>Show or hide the conversations (Ctrl+B)</source>
        <translation>Unterhaltungen zeigen oder ausblenden (Strg+B)</translation>
    </message>
    <message>
        <source>Show or hide this chat&apos;s settings (Ctrl+I)</source>
        <translation>Einstellungen dieses Chats zeigen oder ausblenden (Strg+I)</translation>
    </message>
    <message>
        <source>Search conversations</source>
        <translation>Unterhaltungen durchsuchen</translation>
    </message>
    <message>
        <source>Write a message</source>
        <translation>Eine Nachricht schreiben</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Stopp</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>Open &amp;data folder</source>
        <translation>&amp;Datenordner öffnen</translation>
    </message>
    <message>
        <source>&amp;About Enclave</source>
        <translation>&amp;Über Enclave</translation>
    </message>
    <message>
        <source>Conversations and models are kept in {folder}</source>
        <translation>Unterhaltungen und Modelle liegen in {folder}</translation>
    </message>
    <message>
        <source>Data folder</source>
        <translation>Datenordner</translation>
    </message>
    <message>
        <source>Enclave keeps your conversations and models in
{folder}</source>
        <translation>Enclave bewahrt Ihre Unterhaltungen und Modelle hier auf:
{folder}</translation>
    </message>
    <message>
        <source>Conversation history</source>
        <translation>Chat-Verlauf</translation>
    </message>
    <message>
        <source>Open model folder</source>
        <translation>Modellordner öffnen</translation>
    </message>
    <message>
        <source>Preparing a memory-mapped copy of {name}…</source>
        <translation>Speicherabgebildete Kopie von {name} wird vorbereitet…</translation>
    </message>
    <message>
        <source>Cancelled: no memory-mapped copy of {name} was made, and the model is unchanged.</source>
        <translation>Abgebrochen: Es wurde keine speicherabgebildete Kopie von {name} angelegt, das Modell ist unverändert.</translation>
    </message>
    <message>
        <source>Your organization does not allow exporting conversations.</source>
        <translation>Ihre Organisation erlaubt das Exportieren von Chats nicht.</translation>
    </message>
    <message>
        <source>Wait until the reply has finished, then unlock the history.</source>
        <translation>Warten Sie, bis die Antwort fertig ist, und entsperren Sie dann den Verlauf.</translation>
    </message>
    <message>
        <source>Wait until the reply has finished, then delete the history.</source>
        <translation>Warten Sie, bis die Antwort fertig ist, und löschen Sie dann den Verlauf.</translation>
    </message>
    <message>
        <source>All conversations and their key were deleted.</source>
        <translation>Alle Chats und ihr Schlüssel wurden gelöscht.</translation>
    </message>
    <message>
        <source>Choose a passphrase to encrypt your conversation history.</source>
        <translation>Wählen Sie eine Passphrase, mit der Ihr Chat-Verlauf verschlüsselt wird.</translation>
    </message>
    <message>
        <source>Enter the passphrase that protects your conversation history.</source>
        <translation>Geben Sie die Passphrase ein, die Ihren Chat-Verlauf schützt.</translation>
    </message>
    <message>
        <source>The history stays locked.</source>
        <translation>Der Verlauf bleibt gesperrt.</translation>
    </message>
    <message>
        <source>{reason} The download settings were not changed.</source>
        <translation>{reason} Die Download-Einstellungen wurden nicht geändert.</translation>
    </message>
    <message>
        <source>This checkpoint must be converted once before it can run. Open it again when you are ready.</source>
        <translation>Dieser Checkpoint muss einmal umgewandelt werden, bevor er läuft. Öffnen Sie ihn erneut, wenn Sie so weit sind.</translation>
    </message>
    <message>
        <source>Converting the model for {target}…</source>
        <translation>Das Modell wird für {target} umgewandelt …</translation>
    </message>
    <message>
        <source>Loading {name}…</source>
        <translation>{name} wird geladen …</translation>
    </message>
    <message>
        <source>Loaded {name} in {seconds} s on {provider}</source>
        <translation>{name} in {seconds} s auf {provider} geladen</translation>
    </message>
    <message>
        <source>New chats will start with these settings.</source>
        <translation>Neue Chats beginnen mit diesen Einstellungen.</translation>
    </message>
    <message>
        <source>Markdown (*.md)</source>
        <translation>Markdown (*.md)</translation>
    </message>
    <message>
        <source>JSON (*.json)</source>
        <translation>JSON (*.json)</translation>
    </message>
    <message>
        <source>Export conversation</source>
        <translation>Unterhaltung exportieren</translation>
    </message>
    <message>
        <source>Could not write {path}: {reason}</source>
        <translation>{path} konnte nicht geschrieben werden: {reason}</translation>
    </message>
    <message>
        <source>Exported “{title}” to {path}.</source>
        <translation>„{title}“ wurde nach {path} exportiert.</translation>
    </message>
    <message>
        <source>Show in folder</source>
        <translation>Im Ordner zeigen</translation>
    </message>
    <message>
        <source>Attach documents</source>
        <translation>Dokumente anhängen</translation>
    </message>
    <message>
        <source>Reading the attached documents…</source>
        <translation>Die angehängten Dokumente werden gelesen …</translation>
    </message>
    <message>
        <source>Source not attached</source>
        <translation>Quelle nicht angehängt</translation>
    </message>
    <message>
        <source>{name} is no longer attached to this chat.</source>
        <translation>{name} ist nicht mehr an diesen Chat angehängt.</translation>
    </message>
    <message>
        <source>The conversation history could not be opened: {reason} This session&apos;s conversations will not be kept after Enclave closes.</source>
        <translation>Der Verlauf der Unterhaltungen konnte nicht geöffnet werden: {reason} Die Unterhaltungen dieser Sitzung bleiben nach dem Schließen von Enclave nicht erhalten.</translation>
    </message>
    <message>
        <source>Conversation history unavailable</source>
        <translation>Verlauf nicht verfügbar</translation>
    </message>
    <message>
        <source>{reason}

The file was not changed. Enclave keeps working, but this session&apos;s conversations will not be kept after it closes.</source>
        <translation>{reason}

Die Datei wurde nicht verändert. Enclave arbeitet weiter, aber die Unterhaltungen dieser Sitzung bleiben nach dem Schließen nicht erhalten.</translation>
    </message>
    <message>
        <source>{reason}

Try again:</source>
        <translation>{reason}

Versuchen Sie es noch einmal:</translation>
    </message>
    <message>
        <source>No OS keyring is available, so your conversation history is protected only by a passphrase you choose: anyone with a copy of the file can try to guess it, and a forgotten passphrase cannot be recovered.</source>
        <translation>Es ist kein Schlüsselbund des Betriebssystems verfügbar, daher schützt nur eine Passphrase Ihrer Wahl Ihren Verlauf: Wer eine Kopie der Datei hat, kann versuchen, sie zu erraten, und eine vergessene Passphrase lässt sich nicht wiederherstellen.</translation>
    </message>
    <message>
        <source>History passphrase</source>
        <translation>Passphrase des Verlaufs</translation>
    </message>
    <message>
        <source>The new language applies the next time Enclave starts.</source>
        <translation>Die neue Sprache gilt ab dem nächsten Start von Enclave.</translation>
    </message>
</context>
<context>
    <name>Managed</name>
    <message>
        <source>Managed by your organization</source>
        <translation>Von Ihrer Organisation verwaltet</translation>
    </message>
</context>
<context>
    <name>Markdown</name>
    <message>
        <source>Copy</source>
        <translation>Kopieren</translation>
    </message>
    <message>
        <source>code</source>
        <translation>Code</translation>
    </message>
    <message>
        <source>[image: {description}]</source>
        <translation>[Bild: {description}]</translation>
    </message>
    <message>
        <source>no description</source>
        <translation>ohne Beschreibung</translation>
    </message>
</context>
<context>
    <name>Message</name>
    <message>
        <source>Error: {reason}</source>
        <translation>Fehler: {reason}</translation>
    </message>
    <message>
        <source>the reply failed.</source>
        <translation>die Antwort ist fehlgeschlagen.</translation>
    </message>
    <message>
        <source>Stopped — the reply above is partial.</source>
        <translation>Gestoppt – die Antwort oben ist unvollständig.</translation>
    </message>
    <message>
        <source>Interrupted — Enclave closed before this reply finished.</source>
        <translation>Unterbrochen – Enclave wurde geschlossen, bevor diese Antwort fertig war.</translation>
    </message>
    <message>
        <source>Waiting for the first words…</source>
        <translation>Warten auf die ersten Wörter …</translation>
    </message>
    <message>
        <source>The reply reached the length limit (Max reply tokens in Chat settings); Regenerate after raising it.</source>
        <translation>Die Antwort hat die Längengrenze erreicht (Höchstens Tokens je Antwort in den Chat-Einstellungen); erhöhen Sie sie und lassen Sie neu antworten.</translation>
    </message>
    <message>
        <source>The conversation has filled the model&apos;s context; start a new chat to go on.</source>
        <translation>Die Unterhaltung füllt den Kontext des Modells; beginnen Sie einen neuen Chat, um weiterzumachen.</translation>
    </message>
    <message>
        <source>still writing</source>
        <translation>schreibt noch</translation>
    </message>
    <message>
        <source>interrupted when Enclave closed</source>
        <translation>unterbrochen, als Enclave geschlossen wurde</translation>
    </message>
    <message>
        <source>the model finished its answer</source>
        <translation>das Modell hat seine Antwort beendet</translation>
    </message>
    <message>
        <source>reached the reply length limit</source>
        <translation>Längengrenze der Antwort erreicht</translation>
    </message>
    <message>
        <source>the context window was full</source>
        <translation>das Kontextfenster war voll</translation>
    </message>
    <message>
        <source>stopped by you</source>
        <translation>von Ihnen gestoppt</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>fehlgeschlagen</translation>
    </message>
    <message>
        <source>not recorded</source>
        <translation>nicht festgehalten</translation>
    </message>
    <message>
        <source>{rate} tok/s</source>
        <translation>{rate} Tok./s</translation>
    </message>
    <message>
        <source>first token after {seconds} s</source>
        <translation>erstes Token nach {seconds} s</translation>
    </message>
    <message>
        <source>thought for {seconds} s</source>
        <translation>{seconds} s nachgedacht</translation>
    </message>
    <message>
        <source>({count} reused)</source>
        <translation>({count} wiederverwendet)</translation>
    </message>
    <message>
        <source>stop: {reason}</source>
        <translation>Ende: {reason}</translation>
    </message>
    <message>
        <source>Hide</source>
        <translation>Ausblenden</translation>
    </message>
    <message>
        <source>Show them</source>
        <translation>Zeigen</translation>
    </message>
</context>
<context>
    <name>ModelBar</name>
    <message>
        <source>{target} package</source>
        <translation>{target}-Paket</translation>
    </message>
    <message>
        <source>{size} GB in memory</source>
        <translation>{size} GB im Speicher</translation>
    </message>
    <message>
        <source>{count}-token context</source>
        <translation>Kontext von {count} Tokens</translation>
    </message>
</context>
<context>
    <name>Passage</name>
    <message>
        <source>This passage is no longer available: the document changed after the answer was written.</source>
        <translation>Diese Passage ist nicht mehr verfügbar: Das Dokument hat sich geändert, nachdem die Antwort geschrieben wurde.</translation>
    </message>
</context>
<context>
    <name>QtAbout</name>
    <message>
        <source>About Enclave</source>
        <translation>Über Enclave</translation>
    </message>
    <message>
        <source>Enclave</source>
        <translation>Enclave</translation>
    </message>
    <message>
        <source>Chat with OpenAI&apos;s open-weight gpt-oss models entirely on this computer. No cloud, no account, no telemetry: nothing you type or attach leaves the machine. Conversations and documents are encrypted at rest. The network is used only for a download you start.</source>
        <translation>Chatten Sie mit den offenen gpt-oss-Modellen von OpenAI vollständig auf diesem Computer. Keine Cloud, kein Konto, keine Telemetrie: Nichts, was Sie schreiben oder anhängen, verlässt das Gerät. Unterhaltungen und Dokumente werden verschlüsselt gespeichert. Das Netzwerk wird nur für einen Download genutzt, den Sie starten.</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modell</translation>
    </message>
    <message>
        <source>Model folder</source>
        <translation>Modellordner</translation>
    </message>
    <message>
        <source>Conversations</source>
        <translation>Unterhaltungen</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>Modelle</translation>
    </message>
    <message>
        <source>gpt-oss is published by OpenAI under the Apache 2.0 licence. Enclave uses ONNX Runtime (MIT) and Qt for Python (LGPLv3).</source>
        <translation>gpt-oss wird von OpenAI unter der Apache-2.0-Lizenz veröffentlicht. Enclave verwendet ONNX Runtime (MIT) und Qt for Python (LGPLv3).</translation>
    </message>
    <message>
        <source>Copy details</source>
        <translation>Angaben kopieren</translation>
    </message>
    <message>
        <source>Copy the versions and folders, for a support request</source>
        <translation>Die Versionen und Ordner kopieren, für eine Supportanfrage</translation>
    </message>
</context>
<context>
    <name>QtBanner</name>
    <message>
        <source>Dismiss</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>Dismiss this message</source>
        <translation>Diese Meldung schließen</translation>
    </message>
</context>
<context>
    <name>QtChatSettings</name>
    <message>
        <source>This chat</source>
        <translation>Dieser Chat</translation>
    </message>
    <message>
        <source>Use for new chats</source>
        <translation>Für neue Chats verwenden</translation>
    </message>
    <message>
        <source>Make these settings the defaults of new chats (Preferences › New chats)</source>
        <translation>Diese Einstellungen zu den Vorgaben neuer Chats machen (Einstellungen › Neue Chats)</translation>
    </message>
</context>
<context>
    <name>QtChatView</name>
    <message>
        <source>What would you like to know?</source>
        <translation>Was möchten Sie wissen?</translation>
    </message>
    <message>
        <source>Ask a question, or drop documents on the window to ask about them. Everything stays on this computer.</source>
        <translation>Stellen Sie eine Frage, oder ziehen Sie Dokumente auf das Fenster, um nach ihnen zu fragen. Alles bleibt auf diesem Computer.</translation>
    </message>
</context>
<context>
    <name>QtComposer</name>
    <message>
        <source>Message gpt-oss</source>
        <translation>Nachricht an gpt-oss</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>Nachricht</translation>
    </message>
    <message>
        <source>Enter sends, Shift+Enter starts a new line</source>
        <translation>Eingabe sendet, Umschalt+Eingabe beginnt eine neue Zeile</translation>
    </message>
    <message>
        <source>Attach</source>
        <translation>Anhängen</translation>
    </message>
    <message>
        <source>Attach documents (or drop files on the window)</source>
        <translation>Dokumente anhängen (oder Dateien auf das Fenster ziehen)</translation>
    </message>
    <message>
        <source>Attach documents</source>
        <translation>Dokumente anhängen</translation>
    </message>
    <message>
        <source>Reasoning</source>
        <translation>Nachdenken</translation>
    </message>
    <message>
        <source>Reasoning effort: how long the model thinks before answering</source>
        <translation>Denkaufwand: wie lange das Modell nachdenkt, bevor es antwortet</translation>
    </message>
    <message>
        <source>Reasoning effort</source>
        <translation>Denkaufwand</translation>
    </message>
    <message>
        <source>Enter to send · Shift+Enter for a new line</source>
        <translation>Eingabe zum Senden · Umschalt+Eingabe für eine neue Zeile</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>Senden</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Stopp</translation>
    </message>
    <message>
        <source>Stop the reply (Esc)</source>
        <translation>Die Antwort stoppen (Esc)</translation>
    </message>
    <message>
        <source>Send (Enter)</source>
        <translation>Senden (Eingabe)</translation>
    </message>
</context>
<context>
    <name>QtConversationList</name>
    <message>
        <source>Enclave</source>
        <translation>Enclave</translation>
    </message>
    <message>
        <source>New chat</source>
        <translation>Neuer Chat</translation>
    </message>
    <message>
        <source>Start a new conversation (Ctrl+N)</source>
        <translation>Eine neue Unterhaltung beginnen (Strg+N)</translation>
    </message>
    <message>
        <source>Search conversations</source>
        <translation>Unterhaltungen durchsuchen</translation>
    </message>
    <message>
        <source>Search titles and messages (Ctrl+F)</source>
        <translation>Titel und Nachrichten durchsuchen (Strg+F)</translation>
    </message>
    <message>
        <source>Conversations</source>
        <translation>Unterhaltungen</translation>
    </message>
    <message>
        <source>No conversation contains “{text}”.</source>
        <translation>Keine Unterhaltung enthält „{text}“.</translation>
    </message>
    <message>
        <source>No conversations yet. What you send is kept here, encrypted.</source>
        <translation>Noch keine Unterhaltungen. Was Sie senden, wird hier verschlüsselt aufbewahrt.</translation>
    </message>
    <message>
        <source>Rename</source>
        <translation>Umbenennen</translation>
    </message>
    <message>
        <source>Export as Markdown…</source>
        <translation>Als Markdown exportieren …</translation>
    </message>
    <message>
        <source>Export as JSON…</source>
        <translation>Als JSON exportieren …</translation>
    </message>
    <message>
        <source>Export as Markdown (managed by your organization)</source>
        <translation>Als Markdown exportieren (von Ihrer Organisation verwaltet)</translation>
    </message>
    <message>
        <source>Export as JSON (managed by your organization)</source>
        <translation>Als JSON exportieren (von Ihrer Organisation verwaltet)</translation>
    </message>
    <message>
        <source>Delete…</source>
        <translation>Löschen …</translation>
    </message>
</context>
<context>
    <name>QtFirstRun</name>
    <message>
        <source>Welcome to Enclave</source>
        <translation>Willkommen bei Enclave</translation>
    </message>
    <message>
        <source>Download {name} ({size} GB)</source>
        <translation>{name} herunterladen ({size} GB)</translation>
    </message>
    <message>
        <source>Import model folder…</source>
        <translation>Modellordner importieren …</translation>
    </message>
    <message>
        <source>Copy a model folder (for example from a USB drive) into Enclave&apos;s library, checked file by file</source>
        <translation>Einen Modellordner (zum Beispiel von einem USB-Stick) in die Bibliothek von Enclave kopieren, Datei für Datei geprüft</translation>
    </message>
    <message>
        <source>Open model folder…</source>
        <translation>Modellordner öffnen …</translation>
    </message>
    <message>
        <source>Use a model folder where it is, without copying it</source>
        <translation>Einen Modellordner dort verwenden, wo er ist, ohne ihn zu kopieren</translation>
    </message>
    <message>
        <source>Prepare a memory-mapped copy</source>
        <translation>Speicherabgebildete Kopie vorbereiten</translation>
    </message>
    <message>
        <source>Saves this model&apos;s prepacked weights for this computer, so that they are read from disk instead of copied into memory</source>
        <translation>Speichert die vorgepackten Gewichte dieses Modells für diesen Computer, damit sie von der Festplatte gelesen statt in den Arbeitsspeicher kopiert werden</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Fortschritt</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
</context>
<context>
    <name>QtHistorySettings</name>
    <message>
        <source>History settings</source>
        <translation>Verlaufseinstellungen</translation>
    </message>
    <message>
        <source>Keeping conversations</source>
        <translation>Chats aufbewahren</translation>
    </message>
    <message>
        <source>Delete conversations not used for</source>
        <translation>Chats löschen, die nicht benutzt wurden seit</translation>
    </message>
    <message>
        <source> days</source>
        <translation> Tagen</translation>
    </message>
    <message>
        <source>Days before an unused conversation is deleted</source>
        <translation>Tage, bis ein unbenutzter Chat gelöscht wird</translation>
    </message>
    <message>
        <source>Deleted conversations are overwritten in the history file, not just hidden.</source>
        <translation>Gelöschte Chats werden in der Verlaufsdatei überschrieben, nicht nur ausgeblendet.</translation>
    </message>
    <message>
        <source>Encryption key</source>
        <translation>Schlüssel</translation>
    </message>
    <message>
        <source>Change passphrase…</source>
        <translation>Passphrase ändern…</translation>
    </message>
    <message>
        <source>Protect with a passphrase instead…</source>
        <translation>Stattdessen mit einer Passphrase schützen…</translation>
    </message>
    <message>
        <source>Keep the key in the OS keyring instead…</source>
        <translation>Schlüssel stattdessen im Schlüsselbund des Betriebssystems ablegen…</translation>
    </message>
    <message>
        <source>No OS keyring is available in this session.</source>
        <translation>In dieser Sitzung ist kein Schlüsselbund des Betriebssystems verfügbar.</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Löschen</translation>
    </message>
    <message>
        <source>Delete all history…</source>
        <translation>Gesamten Verlauf löschen…</translation>
    </message>
    <message>
        <source>Change passphrase</source>
        <translation>Passphrase ändern</translation>
    </message>
    <message>
        <source>Choose a new passphrase for your history. Every conversation is encrypted again under a new key.</source>
        <translation>Wählen Sie eine neue Passphrase für Ihren Verlauf. Jeder Chat wird mit einem neuen Schlüssel neu verschlüsselt.</translation>
    </message>
    <message>
        <source>Protect with a passphrase</source>
        <translation>Mit einer Passphrase schützen</translation>
    </message>
    <message>
        <source>Choose the passphrase that will protect your history instead of the OS keyring. Anyone with a copy of the file can then try to guess it, so make it long.</source>
        <translation>Wählen Sie die Passphrase, die Ihren Verlauf statt des Schlüsselbunds schützen soll. Wer eine Kopie der Datei hat, kann dann versuchen, sie zu erraten; wählen Sie sie daher lang.</translation>
    </message>
    <message>
        <source>Keep the key in the OS keyring</source>
        <translation>Schlüssel im Schlüsselbund des Betriebssystems ablegen</translation>
    </message>
    <message>
        <source>Enter your passphrase once more; afterwards the OS keyring unlocks your history when you log in.</source>
        <translation>Geben Sie Ihre Passphrase noch einmal ein; danach entsperrt der Schlüsselbund Ihren Verlauf bei der Anmeldung.</translation>
    </message>
    <message>
        <source>Delete all history</source>
        <translation>Gesamten Verlauf löschen</translation>
    </message>
    <message>
        <source>Delete every conversation and its documents, and the key that encrypts them? This cannot be undone.</source>
        <translation>Alle Chats mit ihren Dokumenten und den Schlüssel, der sie verschlüsselt, löschen? Das lässt sich nicht rückgängig machen.</translation>
    </message>
    <message>
        <source>The history is locked: unlock it to change how it is protected.</source>
        <translation>Der Verlauf ist gesperrt: Entsperren Sie ihn, um seinen Schutz zu ändern.</translation>
    </message>
    <message>
        <source>The key that encrypts your history is kept in the OS keyring.</source>
        <translation>Der Schlüssel, der Ihren Verlauf verschlüsselt, liegt im Schlüsselbund des Betriebssystems.</translation>
    </message>
    <message>
        <source>Your history is protected by your passphrase (Argon2id). Anyone with a copy of the file can try to guess it, so the OS keyring is safer where there is one.</source>
        <translation>Ihr Verlauf ist durch Ihre Passphrase geschützt (Argon2id). Wer eine Kopie der Datei hat, kann versuchen, sie zu erraten; ein Schlüsselbund des Betriebssystems ist daher sicherer, wo es einen gibt.</translation>
    </message>
    <message>
        <source>The history&apos;s key settings could not be read.</source>
        <translation>Die Schlüsseleinstellungen des Verlaufs konnten nicht gelesen werden.</translation>
    </message>
</context>
<context>
    <name>QtLibrary</name>
    <message>
        <source>Models</source>
        <translation>Modelle</translation>
    </message>
    <message>
        <source>Installed models</source>
        <translation>Installierte Modelle</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>Öffnen</translation>
    </message>
    <message>
        <source>Verify</source>
        <translation>Prüfen</translation>
    </message>
    <message>
        <source>Check every file against its recorded size and SHA-256</source>
        <translation>Jede Datei gegen ihre festgehaltene Größe und SHA-256 prüfen</translation>
    </message>
    <message>
        <source>Remove…</source>
        <translation>Entfernen …</translation>
    </message>
    <message>
        <source>Show in folder</source>
        <translation>Im Ordner zeigen</translation>
    </message>
    <message>
        <source>Model to download</source>
        <translation>Herunterzuladendes Modell</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>Herunterladen</translation>
    </message>
    <message>
        <source>Import folder…</source>
        <translation>Ordner importieren …</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Fortschritt</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Models on this computer</source>
        <translation>Modelle auf diesem Computer</translation>
    </message>
    <message>
        <source>Every model is checked file by file when it is added and before it is opened. Downloads are the only time Enclave goes online.</source>
        <translation>Jedes Modell wird beim Hinzufügen und vor dem Öffnen Datei für Datei geprüft. Downloads sind das einzige Mal, dass Enclave online geht.</translation>
    </message>
    <message>
        <source>Download (managed by your organization)</source>
        <translation>Herunterladen (von Ihrer Organisation verwaltet)</translation>
    </message>
    <message>
        <source>{managed}: its policy does not allow downloading models</source>
        <translation>{managed}: Ihre Richtlinie erlaubt das Herunterladen von Modellen nicht</translation>
    </message>
</context>
<context>
    <name>QtMessage</name>
    <message>
        <source>You</source>
        <translation>Sie</translation>
    </message>
    <message>
        <source>gpt-oss</source>
        <translation>gpt-oss</translation>
    </message>
    <message>
        <source>Show or hide the model&apos;s reasoning</source>
        <translation>Das Nachdenken des Modells zeigen oder ausblenden</translation>
    </message>
    <message>
        <source>Reasoning</source>
        <translation>Nachdenken</translation>
    </message>
    <message>
        <source>Your message</source>
        <translation>Ihre Nachricht</translation>
    </message>
    <message>
        <source>Reply</source>
        <translation>Antwort</translation>
    </message>
    <message>
        <source>Copy this message</source>
        <translation>Diese Nachricht kopieren</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>Kopieren</translation>
    </message>
    <message>
        <source>Edit this message and send it again</source>
        <translation>Diese Nachricht bearbeiten und erneut senden</translation>
    </message>
    <message>
        <source>Edit</source>
        <translation>Bearbeiten</translation>
    </message>
    <message>
        <source>Show the previous reply</source>
        <translation>Die vorige Antwort zeigen</translation>
    </message>
    <message>
        <source>Previous reply</source>
        <translation>Vorige Antwort</translation>
    </message>
    <message>
        <source>Show the next reply</source>
        <translation>Die nächste Antwort zeigen</translation>
    </message>
    <message>
        <source>Next reply</source>
        <translation>Nächste Antwort</translation>
    </message>
    <message>
        <source>Ask for a new reply to the same message; this one is kept</source>
        <translation>Eine neue Antwort auf dieselbe Nachricht anfordern; diese bleibt erhalten</translation>
    </message>
    <message>
        <source>Regenerate</source>
        <translation>Neu antworten</translation>
    </message>
    <message>
        <source>Tokens, speed and why the reply stopped</source>
        <translation>Tokens, Geschwindigkeit und warum die Antwort endete</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Details</translation>
    </message>
    <message>
        <source>Sent with: {names}</source>
        <translation>Gesendet mit: {names}</translation>
    </message>
    <message>
        <source>{number} / {count}</source>
        <translation>{number} / {count}</translation>
    </message>
    <message>
        <source>Reply {number} of {count}</source>
        <translation>Antwort {number} von {count}</translation>
    </message>
    <message>
        <source>Edit your message</source>
        <translation>Ihre Nachricht bearbeiten</translation>
    </message>
    <message>
        <source>Enter sends · Shift+Enter new line · Esc cancels</source>
        <translation>Eingabe sendet · Umschalt+Eingabe neue Zeile · Esc bricht ab</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>Senden</translation>
    </message>
    <message>
        <source>Send the edited message; the replies after it are replaced</source>
        <translation>Die bearbeitete Nachricht senden; die Antworten danach werden ersetzt</translation>
    </message>
    <message>
        <source>Thinking…</source>
        <translation>Denkt nach …</translation>
    </message>
    <message>
        <source>Thought for {seconds} s</source>
        <translation>{seconds} s nachgedacht</translation>
    </message>
</context>
<context>
    <name>QtModelBar</name>
    <message>
        <source>Conversations panel</source>
        <translation>Bereich Unterhaltungen</translation>
    </message>
    <message>
        <source>No model open</source>
        <translation>Kein Modell geöffnet</translation>
    </message>
    <message>
        <source>Open a model folder to start</source>
        <translation>Öffnen Sie einen Modellordner, um zu beginnen</translation>
    </message>
    <message>
        <source>Switch to another installed model, or manage them (Ctrl+M)</source>
        <translation>Zu einem anderen installierten Modell wechseln oder die Modelle verwalten (Strg+M)</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modell</translation>
    </message>
    <message>
        <source>Chat settings panel</source>
        <translation>Bereich Chat-Einstellungen</translation>
    </message>
</context>
<context>
    <name>QtPassphraseDialog</name>
    <message>
        <source>Current passphrase</source>
        <translation>Aktuelle Passphrase</translation>
    </message>
    <message>
        <source>New passphrase</source>
        <translation>Neue Passphrase</translation>
    </message>
    <message>
        <source>Passphrase</source>
        <translation>Passphrase</translation>
    </message>
    <message>
        <source>Type it again</source>
        <translation>Noch einmal eingeben</translation>
    </message>
    <message>
        <source>Enter the passphrase that protects the history now.</source>
        <translation>Geben Sie die Passphrase ein, die den Verlauf jetzt schützt.</translation>
    </message>
    <message>
        <source>The two passphrases are not the same.</source>
        <translation>Die beiden Passphrasen stimmen nicht überein.</translation>
    </message>
    <message>
        <source>Strong enough. Keep it somewhere safe: a forgotten passphrase cannot be recovered.</source>
        <translation>Stark genug. Bewahren Sie sie sicher auf: Eine vergessene Passphrase lässt sich nicht wiederherstellen.</translation>
    </message>
</context>
<context>
    <name>QtPreferences</name>
    <message>
        <source>Preferences</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>Preference pages</source>
        <translation>Seiten der Einstellungen</translation>
    </message>
    <message>
        <source>General</source>
        <translation>Allgemein</translation>
    </message>
    <message>
        <source>New chats</source>
        <translation>Neue Chats</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modell</translation>
    </message>
    <message>
        <source>Documents</source>
        <translation>Dokumente</translation>
    </message>
    <message>
        <source>Downloads</source>
        <translation>Downloads</translation>
    </message>
    <message>
        <source>Data</source>
        <translation>Daten</translation>
    </message>
    <message>
        <source>Set every preference on every page back to its default</source>
        <translation>Alle Einstellungen auf allen Seiten auf ihre Vorgabe zurücksetzen</translation>
    </message>
    <message>
        <source>Same as the system</source>
        <translation>Wie das System</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>Hell</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>Dunkel</translation>
    </message>
    <message>
        <source>Theme</source>
        <translation>Design</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Sprache</translation>
    </message>
    <message>
        <source>A new language applies the next time Enclave starts.</source>
        <translation>Eine neue Sprache gilt ab dem nächsten Start von Enclave.</translation>
    </message>
    <message>
        <source>What a new chat starts with. Each chat keeps its own copy, changed in its Chat settings panel.</source>
        <translation>Womit ein neuer Chat beginnt. Jeder Chat behält seine eigene Kopie, die Sie in seinem Bereich Chat-Einstellungen ändern.</translation>
    </message>
    <message>
        <source>These apply the next time a model is opened.</source>
        <translation>Diese gelten, wenn das nächste Mal ein Modell geöffnet wird.</translation>
    </message>
    <message>
        <source>Automatic (32,768 on a CPU, 8,192 on a GPU)</source>
        <translation>Automatisch (32.768 auf einer CPU, 8.192 auf einer GPU)</translation>
    </message>
    <message>
        <source>{count} tokens</source>
        <translation>{count} Tokens</translation>
    </message>
    <message>
        <source>How much text (chat and documents) the model sees at once. More needs more memory; a package&apos;s own limit still applies.</source>
        <translation>Wie viel Text (Chat und Dokumente) das Modell auf einmal sieht. Mehr braucht mehr Speicher; die eigene Grenze eines Pakets gilt weiterhin.</translation>
    </message>
    <message>
        <source>Context length</source>
        <translation>Kontextlänge</translation>
    </message>
    <message>
        <source>Automatic ({count})</source>
        <translation>Automatisch ({count})</translation>
    </message>
    <message>
        <source>Threads ONNX Runtime uses on the CPU. Automatic leaves one core to the window so it stays smooth while a reply streams.</source>
        <translation>Threads, die ONNX Runtime auf der CPU nutzt. Automatisch lässt dem Fenster einen Kern, damit es flüssig bleibt, während eine Antwort entsteht.</translation>
    </message>
    <message>
        <source>CPU threads</source>
        <translation>CPU-Threads</translation>
    </message>
    <message>
        <source>Attached documents are read in a separate, limited process. Larger limits let bigger files in; smaller ones protect a low-memory laptop from hostile or broken files.</source>
        <translation>Angehängte Dokumente werden in einem eigenen, begrenzten Prozess gelesen. Größere Grenzen lassen größere Dateien zu; kleinere schützen einen Laptop mit wenig Speicher vor bösartigen oder kaputten Dateien.</translation>
    </message>
    <message>
        <source> MB</source>
        <translation> MB</translation>
    </message>
    <message>
        <source>Largest file Enclave reads</source>
        <translation>Größte Datei, die Enclave liest</translation>
    </message>
    <message>
        <source>Largest document</source>
        <translation>Größtes Dokument</translation>
    </message>
    <message>
        <source> pages</source>
        <translation> Seiten</translation>
    </message>
    <message>
        <source>Most pages, slides or sheets per document</source>
        <translation>Höchstens so viele Seiten, Folien oder Tabellenblätter je Dokument</translation>
    </message>
    <message>
        <source>Most pages</source>
        <translation>Höchstens Seiten</translation>
    </message>
    <message>
        <source>Longest time to read one document</source>
        <translation>Längste Zeit zum Lesen eines Dokuments</translation>
    </message>
    <message>
        <source> s</source>
        <translation> s</translation>
    </message>
    <message>
        <source>Time per document</source>
        <translation>Zeit je Dokument</translation>
    </message>
    <message>
        <source>Most memory the reading process may use</source>
        <translation>Höchster Speicher, den der Leseprozess nutzen darf</translation>
    </message>
    <message>
        <source>Memory for reading</source>
        <translation>Speicher zum Lesen</translation>
    </message>
    <message>
        <source>Model downloads are the only time Enclave goes online, when you press Download. Empty fields use HF_ENDPOINT and HTTPS_PROXY, else huggingface.co directly.</source>
        <translation>Modell-Downloads sind das einzige Mal, dass Enclave online geht, wenn Sie auf Herunterladen drücken. Leere Felder verwenden HF_ENDPOINT und HTTPS_PROXY, sonst direkt huggingface.co.</translation>
    </message>
    <message>
        <source>Hub mirror</source>
        <translation>Hub-Spiegel</translation>
    </message>
    <message>
        <source>Proxy</source>
        <translation>Proxy</translation>
    </message>
    <message>
        <source>{setting} (managed by your organization)</source>
        <translation>{setting} (von Ihrer Organisation verwaltet)</translation>
    </message>
    <message>
        <source>Everything Enclave keeps stays on this computer. Conversations and attached documents are encrypted.</source>
        <translation>Alles, was Enclave aufbewahrt, bleibt auf diesem Computer. Unterhaltungen und angehängte Dokumente sind verschlüsselt.</translation>
    </message>
    <message>
        <source>Conversations</source>
        <translation>Unterhaltungen</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>Modelle</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>{what} folder</source>
        <translation>Ordner {what}</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>Öffnen</translation>
    </message>
    <message>
        <source>Open the {what} folder</source>
        <translation>Den Ordner {what} öffnen</translation>
    </message>
</context>
<context>
    <name>QtRemoteDialog</name>
    <message>
        <source>Connect to a remote engine</source>
        <translation>Mit einer entfernten Engine verbinden</translation>
    </message>
    <message>
        <source>Use gpt-oss on a server of your organisation (vLLM, SGLang, llama.cpp, Enclave...) instead of a model on this computer. History stays here; conversations and the passages of attached documents are sent to that server only.</source>
        <translation>gpt-oss auf einem Server Ihrer Organisation (vLLM, SGLang, llama.cpp, Enclave …) statt eines Modells auf diesem Computer nutzen. Der Verlauf bleibt hier; Unterhaltungen und die Passagen angehängter Dokumente gehen nur an diesen Server.</translation>
    </message>
    <message>
        <source>Allowed by your organisation: {engines}</source>
        <translation>Von Ihrer Organisation erlaubt: {engines}</translation>
    </message>
    <message>
        <source>none (an administrator lists them in the policy)</source>
        <translation>keine (ein Administrator führt sie in der Richtlinie auf)</translation>
    </message>
    <message>
        <source>URL</source>
        <translation>URL</translation>
    </message>
    <message>
        <source>the model the server serves</source>
        <translation>das Modell, das der Server anbietet</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modell</translation>
    </message>
    <message>
        <source>the system&apos;s certificates</source>
        <translation>die Zertifikate des Systems</translation>
    </message>
    <message>
        <source>CA bundle</source>
        <translation>CA-Bündel</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>Auswählen …</translation>
    </message>
    <message>
        <source>Choose a CA bundle</source>
        <translation>Ein CA-Bündel auswählen</translation>
    </message>
    <message>
        <source>kept in the OS keyring once entered</source>
        <translation>nach der Eingabe im Schlüsselbund des Betriebssystems aufbewahrt</translation>
    </message>
    <message>
        <source>Token</source>
        <translation>Token</translation>
    </message>
    <message>
        <source>Connect</source>
        <translation>Verbinden</translation>
    </message>
    <message>
        <source>Certificates (*.pem *.crt *.cer);;All files (*)</source>
        <translation>Zertifikate (*.pem *.crt *.cer);;Alle Dateien (*)</translation>
    </message>
</context>
<context>
    <name>QtServerDialog</name>
    <message>
        <source>Local API server</source>
        <translation>Lokaler API-Server</translation>
    </message>
    <message>
        <source>Programs on this computer (editors, scripts, codex --oss) can use the open model through an OpenAI-compatible API. Only this computer can connect, and every request needs the token.</source>
        <translation>Programme auf diesem Computer (Editoren, Skripte, codex --oss) können das geöffnete Modell über eine OpenAI-kompatible API nutzen. Nur dieser Computer kann sich verbinden, und jede Anfrage braucht das Token.</translation>
    </message>
    <message>
        <source>Serve the API on 127.0.0.1</source>
        <translation>Die API auf 127.0.0.1 anbieten</translation>
    </message>
    <message>
        <source>Port</source>
        <translation>Port</translation>
    </message>
    <message>
        <source>Base URL</source>
        <translation>Basis-URL</translation>
    </message>
    <message>
        <source>Copy the base URL</source>
        <translation>Die Basis-URL kopieren</translation>
    </message>
    <message>
        <source>Token</source>
        <translation>Token</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>Zeigen</translation>
    </message>
    <message>
        <source>Copy the token</source>
        <translation>Das Token kopieren</translation>
    </message>
    <message>
        <source>New token</source>
        <translation>Neues Token</translation>
    </message>
    <message>
        <source>Make a new token; programs using the old one are refused from now on</source>
        <translation>Ein neues Token erzeugen; Programme mit dem alten werden ab jetzt abgewiesen</translation>
    </message>
    <message>
        <source>Managed by your organization: the policy does not allow the local API server</source>
        <translation>Von Ihrer Organisation verwaltet: Die Richtlinie erlaubt den lokalen API-Server nicht</translation>
    </message>
    <message>
        <source>The token is {where}.</source>
        <translation>Das Token liegt {where}.</translation>
    </message>
    <message>
        <source>Off.</source>
        <translation>Aus.</translation>
    </message>
</context>
<context>
    <name>QtStatus</name>
    <message>
        <source>Context used</source>
        <translation>Genutzter Kontext</translation>
    </message>
    <message>
        <source>History locked: Unlock…</source>
        <translation>Verlauf gesperrt: Entsperren…</translation>
    </message>
    <message>
        <source>Unlock the history</source>
        <translation>Verlauf entsperren</translation>
    </message>
    <message>
        <source>This session&apos;s conversations are not kept until you unlock the history</source>
        <translation>Die Chats dieser Sitzung werden erst aufbewahrt, wenn Sie den Verlauf entsperren</translation>
    </message>
    <message>
        <source>Offline</source>
        <translation>Offline</translation>
    </message>
    <message>
        <source>Online: {scopes}</source>
        <translation>Online: {scopes}</translation>
    </message>
    <message>
        <source>Network guard not installed</source>
        <translation>Netzwerkschutz nicht aktiv</translation>
    </message>
    <message>
        <source>Enclave refuses every network connection; nothing you type or attach leaves this computer.</source>
        <translation>Enclave verweigert jede Netzwerkverbindung; nichts, was Sie eingeben oder anhängen, verlässt diesen Computer.</translation>
    </message>
    <message>
        <source>Only what you started may use the network: {scopes}</source>
        <translation>Nur was Sie gestartet haben, darf das Netzwerk nutzen: {scopes}</translation>
    </message>
    <message>
        <source>The network guard is not running in this process.</source>
        <translation>Der Netzwerkschutz läuft in diesem Prozess nicht.</translation>
    </message>
    <message>
        <source>Refused so far: {count}.</source>
        <translation>Bisher verweigert: {count}.</translation>
    </message>
    <message>
        <source>Verified</source>
        <translation>Geprüft</translation>
    </message>
    <message>
        <source>Not verified</source>
        <translation>Nicht geprüft</translation>
    </message>
    <message>
        <source>{rate} tok/s</source>
        <translation>{rate} Tok./s</translation>
    </message>
    <message>
        <source>first token {seconds} s</source>
        <translation>erstes Token {seconds} s</translation>
    </message>
    <message>
        <source>Context {percent} %</source>
        <translation>Kontext {percent} %</translation>
    </message>
    <message>
        <source>This conversation uses {used} of the model&apos;s {length} tokens of context</source>
        <translation>Diese Unterhaltung nutzt {used} der {length} Tokens Kontext des Modells</translation>
    </message>
    <message>
        <source>How much of the model&apos;s context window this conversation uses</source>
        <translation>Wie viel vom Kontextfenster des Modells diese Unterhaltung nutzt</translation>
    </message>
</context>
<context>
    <name>Replies</name>
    <message>
        <source>New chat</source>
        <translation>Neuer Chat</translation>
    </message>
    <message>
        <source>Not sent: {reason}</source>
        <translation>Nicht gesendet: {reason}</translation>
    </message>
    <message>
        <source>The model stopped without finishing the reply.</source>
        <translation>Das Modell hat aufgehört, ohne die Antwort zu beenden.</translation>
    </message>
    <message>
        <source>Stopped the reply of the conversation you deleted.</source>
        <translation>Die Antwort der gelöschten Unterhaltung wurde gestoppt.</translation>
    </message>
</context>
<context>
    <name>ServerController</name>
    <message>
        <source>Your organisation&apos;s policy does not allow the local API server.</source>
        <translation>Die Richtlinie Ihrer Organisation erlaubt den lokalen API-Server nicht.</translation>
    </message>
</context>
<context>
    <name>ServerDialog</name>
    <message>
        <source>Copy</source>
        <translation>Kopieren</translation>
    </message>
</context>
<context>
    <name>WindowLibrary</name>
    <message>
        <source>Models…</source>
        <translation>Modelle …</translation>
    </message>
    <message>
        <source>Downloading {name}</source>
        <translation>{name} wird heruntergeladen</translation>
    </message>
    <message>
        <source>Import model folder</source>
        <translation>Modellordner importieren</translation>
    </message>
    <message>
        <source>Importing {name}</source>
        <translation>{name} wird importiert</translation>
    </message>
    <message>
        <source>There is no model named “{name}” in the library.</source>
        <translation>In der Bibliothek gibt es kein Modell namens „{name}“.</translation>
    </message>
    <message>
        <source>{name} is the model in use; open another model before removing it.</source>
        <translation>{name} ist das Modell in Gebrauch; öffnen Sie ein anderes Modell, bevor Sie es entfernen.</translation>
    </message>
    <message>
        <source>Its folder stays where it is.</source>
        <translation>Sein Ordner bleibt, wo er ist.</translation>
    </message>
    <message>
        <source>This deletes {folder} and frees {size} GB.</source>
        <translation>Das löscht {folder} und gibt {size} GB frei.</translation>
    </message>
    <message>
        <source>Remove model?</source>
        <translation>Modell entfernen?</translation>
    </message>
    <message>
        <source>Remove {name} from the library? {what}</source>
        <translation>{name} aus der Bibliothek entfernen? {what}</translation>
    </message>
    <message>
        <source>Removed {name}; {size} GB freed.</source>
        <translation>{name} entfernt; {size} GB frei geworden.</translation>
    </message>
    <message>
        <source>Removed {name}; its folder was left where it is.</source>
        <translation>{name} entfernt; sein Ordner blieb, wo er ist.</translation>
    </message>
    <message>
        <source>{job}: done, checked against {source}.</source>
        <translation>{job}: fertig, geprüft gegen {source}.</translation>
    </message>
    <message>
        <source>Import model</source>
        <translation>Modell importieren</translation>
    </message>
    <message>
        <source>Copy {folder} into the library (it keeps working when the drive is removed), or use it where it is?</source>
        <translation>{folder} in die Bibliothek kopieren (es funktioniert weiter, wenn das Laufwerk entfernt wird), oder dort verwenden, wo es ist?</translation>
    </message>
    <message>
        <source>Copy into the library</source>
        <translation>In die Bibliothek kopieren</translation>
    </message>
    <message>
        <source>Use in place</source>
        <translation>An Ort und Stelle verwenden</translation>
    </message>
</context>
<context>
    <name>WindowServer</name>
    <message>
        <source>&amp;Server</source>
        <translation>&amp;Server</translation>
    </message>
    <message>
        <source>&amp;Serve the API on 127.0.0.1</source>
        <translation>Die API auf 127.0.0.1 &amp;anbieten</translation>
    </message>
    <message>
        <source>Managed by your organization</source>
        <translation>Von Ihrer Organisation verwaltet</translation>
    </message>
    <message>
        <source>API &amp;address and token…</source>
        <translation>API-&amp;Adresse und Token …</translation>
    </message>
    <message>
        <source>No OS keyring is available: the token is kept until Enclave closes.</source>
        <translation>Kein Schlüsselbund des Betriebssystems verfügbar: Das Token bleibt nur, bis Enclave geschlossen wird.</translation>
    </message>
    <message>
        <source>Connecting to {host}…</source>
        <translation>Verbindung mit {host} wird hergestellt …</translation>
    </message>
    <message>
        <source>{engine}: this conversation and the passages of attached documents are sent to that server and nowhere else.</source>
        <translation>{engine}: Diese Unterhaltung und die Passagen angehängter Dokumente werden an diesen Server gesendet und nirgendwohin sonst.</translation>
    </message>
    <message>
        <source>API on {host}</source>
        <translation>API auf {host}</translation>
    </message>
    <message>
        <source>OpenAI-compatible API at {url}; {count} requests answered</source>
        <translation>OpenAI-kompatible API unter {url}; {count} Anfragen beantwortet</translation>
    </message>
</context>
<context>
    <name>Worker</name>
    <message>
        <source>{error} (no details)</source>
        <translation>{error} (keine Angaben)</translation>
    </message>
</context>
</TS>
