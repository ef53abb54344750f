// The front door: sign in once, then go to the page of your role (a boa is told to use the tablet).
import { startWorkspace } from "/web/static/js/workspace.js";

const HOME = {
  operator: "/meldkamer/", teamlead: "/teamleider/", admin: "/beheer/", privacy_officer: "/privacy/",
};

startWorkspace({
  title: "Inloggen",
  here: "/",
  roles: Object.keys(HOME),
  onReady: (main, session) => {
    main.innerHTML = `<p>Doorsturen naar uw startpagina…</p>`;
    location.replace(HOME[session.role]);
  },
});
