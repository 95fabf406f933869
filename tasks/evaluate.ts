// `deno task evaluate`: not implemented yet. It says so and exits 2 rather than pretend to work.
console.error("synface: `deno task evaluate` is not implemented yet");
Deno.exit(2);
