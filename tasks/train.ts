// `deno task train`: not implemented yet. It says so and exits 2 rather than pretend to work.
console.error("synface: `deno task train` is not implemented yet");
Deno.exit(2);
