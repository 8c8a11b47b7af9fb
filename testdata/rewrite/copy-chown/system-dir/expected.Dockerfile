FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends nginx && rm -rf /var/lib/apt/lists/*
# /var/www/html came with the package: the recursive chown also changed it and its index page
COPY --chown=www-data:www-data site /var/www/html
RUN find /var/www/html \( ! -user www-data -o ! -group www-data \) -exec chown -h www-data:www-data {} +
CMD ["nginx", "-g", "daemon off;"]
