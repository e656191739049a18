// The page's entry point: starts the client with the server's /config.js.

import { start } from './app.js';

start(window.CHAT_CONFIG);
