"""`pic-store import`: bring an app of another store (Runtipi, Umbrel) into PIC's format.

import_service(format, source, out, options) -> Imported
    reads SOURCE (the app's folder in the other store), writes OUT (a PIC store service
    folder: manifest.json, compose-template.yml, IMPORT.md) and checks it as `validate` does.
"""

from app.importers.service import FORMATS, Imported, import_service

__all__ = ["FORMATS", "Imported", "import_service"]
