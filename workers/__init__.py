"""Process entry points: settings -> adapters -> activities -> Worker, API, dev stack."""
